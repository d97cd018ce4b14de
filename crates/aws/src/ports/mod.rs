//! Ports: one small trait per capability, one file per service. Tasks take
//! the narrowest one they need; `crate::ports::X` names each.

mod arc;
mod capacity;
mod cloudwatch;
mod functions;
mod journal;
mod lease;
mod notify;
mod probe;
mod rds;
mod registry;
mod route53;

pub use arc::*;
pub use capacity::*;
pub use cloudwatch::*;
pub use functions::*;
pub use journal::*;
pub use lease::*;
pub use notify::*;
pub use probe::*;
pub use rds::*;
pub use registry::*;
pub use route53::*;

/// What every port file uses.
mod prelude {
    pub(super) use crate::error::AwsError;
    pub(super) use async_trait::async_trait;
    pub(super) use chrono::{DateTime, Utc};
    pub(super) use lifeboat_core::dns::RecordSet;
    pub(super) use lifeboat_core::outcome::RunRecord;
    pub(super) use lifeboat_core::registry::{Application, ClusterEndpoint, RoutingControlCluster};
    pub(super) use lifeboat_core::traffic::{ControlState, ControlStates};
    pub(super) use std::collections::BTreeMap;
}
