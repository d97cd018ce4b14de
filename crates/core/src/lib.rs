//! lifeboat's domain: the application registry, requests and triggers, the plan
//! (what changes, in which order), DNS weight arithmetic and the closed set of
//! workflow error names. No I/O and no AWS SDK here: everything is data in,
//! data out, so it is tested with plain unit tests.

pub mod calls;
pub mod capacity;
pub mod database;
pub mod dns;
pub mod error;
pub mod health;
pub mod hooks;
pub mod names;
pub mod outcome;
pub mod plan;
pub mod registry;
pub mod request;
pub mod timing;
pub mod traffic;

pub use error::{ErrorName, FailureName, LifeboatError};
