//! lifeboat's ports (one small trait per capability), their AWS SDK adapters,
//! and in-memory fakes of the same traits for fast unit tests.
//!
//! Every SDK client is built by [`clients::AwsClients`] from the SDK's
//! standard configuration chain, so `AWS_ENDPOINT_URL` points all of them at
//! an emulator with no code branch, and every request attempt is counted.

pub mod accounts;
pub mod arc;
pub mod calls;
pub mod capacity;
pub mod clients;
pub mod cloudwatch;
#[cfg(any(test, feature = "fakes"))]
pub mod conformance;
pub mod dynamodb;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod functions;
pub mod notify;
pub mod pacing;
pub mod ports;
pub mod probe;
pub mod rds;
pub mod route53;

pub use calls::CallCounter;
pub use clients::AwsClients;
pub use error::AwsError;
