//! An embedded Amazon States Language executor.
//!
//! Loads an `.asl.json` definition, checks it the way Step Functions does at
//! CreateStateMachine, and runs it with in-process task handlers registered by
//! Resource (or lambda:invoke FunctionName), on a clock the executor owns.
//! It knows nothing about disaster recovery.

pub mod callback;
pub mod choice;
pub mod clock;
pub mod definition;
pub mod error;
pub mod executor;
pub mod history;
pub mod intrinsics;
pub mod paths;

pub use callback::{TaskDoesNotExist, TaskTokens};
pub use clock::{Clock, SystemClock, VirtualClock};
pub use definition::{StateMachine, parse_definition, task_resources};
pub use error::{ExecError, LoadError};
pub use executor::{Execution, ExecutionStatus, Executor, FnHandler, LAMBDA_INVOKE, TaskHandler, handler_fn};
pub use history::{EventSink, HistoryEvent};
