//! In-memory fakes of the ports, for fast unit tests of the tasks (behind
//! the `fakes` feature: never in a Lambda binary). They keep the semantics
//! the tasks rely on (UPSERT replaces by set identifier, changes go INSYNC
//! after a configurable number of polls) and count their calls. One file per
//! fake.

mod alarms;
mod arc;
mod capacity;
mod dynamodb;
mod functions;
mod metrics;
mod notify;
mod probe;
mod rds;
mod route53;

pub use alarms::FakeAlarms;
pub use arc::FakeArc;
pub use capacity::FakeCapacity;
pub use dynamodb::{FakeJournal, FakeLease, FakeLeaseState, FakeRegistry};
pub use functions::{Behaviour, FakeFunctions};
pub use metrics::FakeMetrics;
pub use notify::FakeNotifier;
pub use probe::FakeProbe;
pub use rds::FakeDatabases;
pub use route53::FakeRoute53;

/// What every fake uses.
mod prelude {
    pub(super) use crate::error::AwsError;
    pub(super) use crate::ports::{
        AlarmStates, ArcAnswer, ArcUpdateError, Datum, DnsReader, DnsWriter, HealthChecks, HealthReport, HttpProbe,
        Journal, LeaseOutcome, LeaseState, Metrics, PageStart, ProbeAnswer, RecordPage, RegistryStore, RoutingControls,
        RunLease, StoredApp,
    };
    pub(super) use async_trait::async_trait;
    pub(super) use chrono::{DateTime, Utc};
    pub(super) use lifeboat_core::calls::ApiCalls;
    pub(super) use lifeboat_core::dns::RecordSet;
    pub(super) use lifeboat_core::outcome::RunRecord;
    pub(super) use lifeboat_core::registry::{Application, normalize_record_name, normalize_zone_id};
    pub(super) use lifeboat_core::registry::{ClusterEndpoint, RoutingControlCluster};
    pub(super) use lifeboat_core::traffic::{ControlState, ControlStates};
    pub(super) use std::collections::{BTreeMap, HashMap, VecDeque};
    pub(super) use std::sync::Mutex;

    pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}
