//! The workflow's tasks, one module each, as plain async fns over the ports.
//! `src/bin/*` are the thin Lambda mains; [`dispatch`] runs a task by kind for
//! both the Lambda runtime and the local executor, adding the invocation's
//! AWS call counts to its output.

pub mod apply_registry;
pub mod contract;
pub mod database;
pub mod deployed_scope;
pub mod dispatch;
pub mod journal;
pub mod lambda;
pub mod pending;
pub mod probe;
pub mod readiness;
pub mod record_outcome;
pub mod services;
pub mod shift_dns;
pub mod validate;
pub mod verify_traffic;
pub mod wait_dns;
pub mod wave;

#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod test_support;

pub use dispatch::{TaskKind, dispatch};
pub use services::{AwsServicesFactory, Services, ServicesFactory, Settings};
