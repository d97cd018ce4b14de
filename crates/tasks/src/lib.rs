//! The workflow's tasks, each a [`task::Task`] named after the state it
//! serves, over the ports. `src/bin/lifeboat_task.rs` is the one thin Lambda
//! main; [`dispatch`] runs a task by kind for both the Lambda runtime and the
//! local executor.

pub mod app_health;
pub mod apply_registry;
pub mod approval;
pub mod check_dns_sync;
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
pub mod task;
pub mod validate;
pub mod wave;

#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod test_support;

pub use dispatch::{TaskKind, dispatch};
pub use services::{AwsServicesFactory, Services, ServicesFactory, Settings};
