//! The application registry: which applications lifeboat moves, their DNS
//! record pairs, databases, verification and the alarms that select them.
//!
//! The file format (YAML or JSON) is described by a JSON Schema generated from
//! these types (`schema/registry.schema.json`); [`parse_registry`] checks a
//! document against it and then checks what a schema cannot say (unique names,
//! known dependencies, no cycles), reporting every problem with its field path.

/// Route 53's name rules live with the records (`dns`); the registry uses them.
pub use crate::dns::{normalize_record_name, normalize_zone_id};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// The registry file's format version.
pub const REGISTRY_VERSION: u32 = 1;

/// A lifeboat registry: every application lifeboat may move between Regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lifeboat registry")]
pub struct Registry {
    /// Format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The Route 53 ARC cluster whose routing controls move the traffic of
    /// apps with `traffic.routing_controls` (required when any app has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_control_cluster: Option<RoutingControlCluster>,
    /// The applications, in any order (waves come from `tier` and `depends_on`).
    pub applications: Vec<Application>,
}

/// A Route 53 ARC cluster: its regional endpoints, as DescribeCluster lists
/// them. A run tries them one after the other (the recovery Region's first)
/// until one answers; no control-configuration call is ever on a run's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingControlCluster {
    /// The cluster's regional endpoints (ARC gives five).
    #[schemars(length(min = 1, max = 5))]
    pub endpoints: Vec<ClusterEndpoint>,
}

/// One regional endpoint of an ARC cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterEndpoint {
    /// The endpoint's Region (requests to it are signed for this Region).
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// The endpoint URL, e.g. `https://host-aaaa.us-east-1.example.aws/v1`.
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
}

impl RoutingControlCluster {
    /// The endpoints in the order a run tries them: `first_region`'s first,
    /// then the others as listed.
    pub fn endpoints_from(&self, first_region: &str) -> Vec<ClusterEndpoint> {
        let (mut first, rest): (Vec<_>, Vec<_>) =
            self.endpoints.iter().cloned().partition(|e| e.region == first_region);
        first.extend(rest);
        first
    }
}

/// How an application's traffic moves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Route 53 ARC routing controls, one per Region: failover turns the
    /// target's On and the other Off in one call (data plane only, so it
    /// works with us-east-1 dark). The app's `dns` records are then only
    /// checked, never edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_controls: Option<BySide<String>>,
}

/// One application, active in one Region at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Unique name: lowercase letters, digits and dashes.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// Lower tiers move first (tier 0 before tier 1).
    #[serde(default)]
    pub tier: u32,
    /// Applications that must be active in the target Region before this one moves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The Region that normally serves traffic and the one that takes over.
    pub regions: RegionPair,
    /// Weighted Route 53 record pairs to shift.
    #[schemars(length(min = 1))]
    pub dns: Vec<DnsRecordPair>,
    /// The application's database and how it follows the traffic.
    #[serde(default)]
    pub database: Database,
    /// How to tell the target Region serves traffic well.
    #[serde(default)]
    pub verification: Verification,
    /// The CloudWatch alarms whose ALARM state fails this application over.
    #[serde(default)]
    pub triggers: Triggers,
    /// How its traffic moves: weighted records (the default) or ARC routing controls.
    #[serde(default, skip_serializing_if = "Traffic::is_weighted")]
    pub traffic: Traffic,
    /// How its outage is detected from the recovery Region (a probe and its alarm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
}

impl Traffic {
    pub fn is_weighted(&self) -> bool {
        self.routing_controls.is_none()
    }
}

impl Application {
    /// The detection probe's alarm name, if the app has a probe.
    pub fn detection_alarm(&self) -> Option<String> {
        self.detection.as_ref().map(|d| {
            d.probe
                .alarm_name
                .clone()
                .unwrap_or_else(|| format!("lifeboat-probe-{}", self.name))
        })
    }

    /// Whether `alarm` triggers this app (its trigger alarms and its probe's alarm).
    pub fn triggered_by(&self, alarm: &str) -> bool {
        self.triggers.alarms.iter().any(|n| n == alarm) || self.detection_alarm().as_deref() == Some(alarm)
    }

    /// The routing controls that move this app's traffic, if it uses them.
    pub fn routing_controls(&self) -> Option<&BySide<String>> {
        self.traffic.routing_controls.as_ref()
    }
}

/// A primary and a secondary Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPair {
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub primary: String,
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub secondary: String,
}

impl RegionPair {
    pub fn get(&self, side: Side) -> &str {
        match side {
            Side::Primary => &self.primary,
            Side::Secondary => &self.secondary,
        }
    }
}

/// Which of an application's two Regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Primary,
    Secondary,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Primary => Side::Secondary,
            Side::Secondary => Side::Primary,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Primary => "primary",
            Side::Secondary => "secondary",
        })
    }
}

/// A value for each side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "T: Deserialize<'de> + Default"))]
#[schemars(bound = "T: JsonSchema + Default")]
pub struct BySide<T> {
    #[serde(default)]
    pub primary: T,
    #[serde(default)]
    pub secondary: T,
}

impl<T> BySide<Vec<T>> {
    pub fn is_empty(&self) -> bool {
        self.primary.is_empty() && self.secondary.is_empty()
    }
}

impl<T> BySide<T> {
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Primary => &self.primary,
            Side::Secondary => &self.secondary,
        }
    }
}

/// Record types Route 53 supports for weighted routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum RecordType {
    A,
    #[allow(clippy::upper_case_acronyms)]
    AAAA,
    #[allow(clippy::upper_case_acronyms)]
    CNAME,
    MX,
    TXT,
    #[allow(clippy::upper_case_acronyms)]
    SRV,
    #[allow(clippy::upper_case_acronyms)]
    CAA,
    #[allow(clippy::upper_case_acronyms)]
    NAPTR,
    PTR,
    SPF,
    DS,
}

impl RecordType {
    /// Every type the registry accepts (the ShiftDns policy allows exactly these).
    pub const ALL: [RecordType; 11] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::CAA,
        RecordType::NAPTR,
        RecordType::PTR,
        RecordType::SPF,
        RecordType::DS,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::SRV => "SRV",
            RecordType::CAA => "CAA",
            RecordType::NAPTR => "NAPTR",
            RecordType::PTR => "PTR",
            RecordType::SPF => "SPF",
            RecordType::DS => "DS",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_active_weight() -> u8 {
    100
}

/// Two weighted records of one name and type, one per Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecordPair {
    /// The hosted zone id (`Z...`; a `/hostedzone/` prefix is accepted).
    #[schemars(length(min = 1))]
    pub hosted_zone_id: String,
    /// The record name, e.g. `api.example.com.`.
    #[schemars(length(min = 1, max = 1024))]
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// The `SetIdentifier` of each Region's weighted record.
    pub set_identifiers: BySide<String>,
    /// The weight of the active Region's record (1-255; default 100).
    #[serde(default = "default_active_weight")]
    #[schemars(range(min = 1))]
    pub active_weight: u8,
    /// The weight of the standby Region's record (default 0: no traffic).
    #[serde(default)]
    pub standby_weight: u8,
}

impl DnsRecordPair {
    /// The key of `side`'s weighted record.
    pub fn key(&self, side: Side) -> crate::dns::RecordKey {
        crate::dns::RecordKey::new(
            &self.hosted_zone_id,
            &self.name,
            self.record_type.as_str(),
            self.set_identifiers.get(side),
        )
    }

    /// The weight the record of `side` should have when `active` serves traffic.
    pub fn weight_for(&self, side: Side, active: Side) -> i64 {
        if side == active {
            i64::from(self.active_weight)
        } else {
            i64::from(self.standby_weight)
        }
    }
}

/// How the application's data follows the traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseKind {
    /// No database, or one lifeboat does not manage.
    #[default]
    None,
    /// DynamoDB global tables: replicated both ways, nothing to do.
    DynamodbGlobal,
    /// Aurora global database: switchover (planned) or failover (disaster).
    AuroraGlobal,
    /// Aurora cross-Region read replica cluster: promote.
    AuroraReplica,
    /// RDS cross-Region read replica instance: promote.
    RdsReplica,
    /// RDS automated backups replicated to the secondary Region: restore.
    RdsBackup,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::None => "none",
            DatabaseKind::DynamodbGlobal => "dynamodb-global",
            DatabaseKind::AuroraGlobal => "aurora-global",
            DatabaseKind::AuroraReplica => "aurora-replica",
            DatabaseKind::RdsReplica => "rds-replica",
            DatabaseKind::RdsBackup => "rds-backup",
        }
    }

    /// Whether failing over needs a database action at all.
    pub fn needs_action(self) -> bool {
        !matches!(self, DatabaseKind::None | DatabaseKind::DynamodbGlobal)
    }
}

/// The application's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    #[serde(default)]
    pub kind: DatabaseKind,
    /// Aurora global cluster identifier (aurora-global).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cluster_id: Option<String>,
    /// Cluster or instance identifiers (or ARNs) in each Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<BySide<String>>,
    /// The most data, in seconds of replication lag, a disaster failover may lose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rpo_seconds: Option<u32>,
    /// Whether a disaster may fail over with data loss (aurora-global). `false`
    /// makes every failover of this app a switchover: no data lost, but it needs
    /// a healthy primary.
    #[serde(default = "default_true")]
    pub allow_data_loss: bool,
    /// How long the promoted database may take to become writable before the
    /// app fails (its DNS is not moved).
    #[serde(default = "default_db_deadline")]
    #[schemars(range(min = 1, max = 86400))]
    pub deadline_seconds: u32,
    /// How often to check whether it is writable.
    #[serde(default = "default_db_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: u32,
    /// The instance an rds-backup restore creates (its name is `identifiers.secondary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSpec>,
    /// A CNAME (simple routing, often in a private hosted zone) that clients
    /// use for the writer: repointed to the new writer's endpoint, in the
    /// wave's change batch of its zone, once the database is writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_record: Option<EndpointRecord>,
}

/// A CNAME that points at the database writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecord {
    /// The hosted zone id (`Z...`).
    #[schemars(length(min = 1))]
    pub hosted_zone_id: String,
    /// The record name, e.g. `orders-db.internal.example.com.`.
    #[schemars(length(min = 1, max = 1024))]
    pub name: String,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            kind: DatabaseKind::None,
            global_cluster_id: None,
            identifiers: None,
            max_rpo_seconds: None,
            allow_data_loss: true,
            deadline_seconds: default_db_deadline(),
            interval_seconds: default_db_interval(),
            restore: None,
            endpoint_record: None,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_db_deadline() -> u32 {
    1800
}
fn default_db_interval() -> u32 {
    30
}

/// How to size and place the instance restored from a replicated automated backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    /// DB instance class, e.g. `db.r6g.large`.
    pub instance_class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
}

/// How many checks, `interval` apart, fit in `deadline` (at least one): the
/// bound of the state machine's Wait + check loops.
pub fn checks_within(deadline_seconds: u32, interval_seconds: u32) -> u32 {
    (deadline_seconds / interval_seconds.max(1)).max(1)
}

fn default_deadline() -> u32 {
    300
}
fn default_interval() -> u32 {
    15
}

/// What must be healthy in the target Region after DNS moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Route 53 health check id of each Region's endpoint; the target's must be healthy.
    #[serde(default)]
    pub health_checks: BySide<Option<String>>,
    /// CloudWatch alarm names in each Region; the target's must all be OK.
    #[serde(default)]
    pub alarms: BySide<Vec<String>>,
    /// HTTP(S) probes of each Region's own endpoint, made by the verify task
    /// from the recovery Region: the target's must answer as expected. They
    /// need nothing from Route 53 or the failed Region.
    #[serde(default, skip_serializing_if = "BySide::is_empty")]
    pub probes: BySide<Vec<HttpCheck>>,
    /// How long to wait for healthy traffic before rolling the app back.
    #[serde(default = "default_deadline")]
    #[schemars(range(min = 1, max = 86400))]
    pub deadline_seconds: u32,
    /// How often to check.
    #[serde(default = "default_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: u32,
}

impl Default for Verification {
    fn default() -> Self {
        Verification {
            health_checks: BySide::default(),
            alarms: BySide::default(),
            probes: BySide::default(),
            deadline_seconds: default_deadline(),
            interval_seconds: default_interval(),
        }
    }
}

fn default_expect_status() -> u16 {
    200
}

/// One HTTP(S) GET and the status it must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// e.g. `https://api-usw2.example.com/health` (the Region's own endpoint, not the failover name).
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    /// The status a healthy endpoint answers (default 200).
    #[serde(default = "default_expect_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: u16,
}

fn default_failures() -> u32 {
    3
}

/// A probe of the primary Region's endpoint, made every minute from the
/// recovery Region: its CloudWatch alarm there fails the app over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectionProbe {
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    #[serde(default = "default_expect_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: u16,
    /// Failed probes in a row (one a minute) before the alarm goes to ALARM.
    #[serde(default = "default_failures")]
    #[schemars(range(min = 1, max = 10))]
    pub failures: u32,
    /// The alarm's name (default `lifeboat-probe-APP`); it is one of the app's trigger alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
}

/// How the app's failure is detected from the recovery Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub probe: DetectionProbe,
}

/// The CloudWatch metric the probe publishes, per app, in the recovery Region.
pub const PROBE_NAMESPACE: &str = "Lifeboat/Probe";
pub const PROBE_METRIC: &str = "ProbeSuccess";
pub const PROBE_DIMENSION: &str = "Application";

/// What an INSUFFICIENT_DATA trigger alarm does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InsufficientData {
    /// Nothing (the default): an alarm without data is not evidence of an outage.
    #[default]
    Ignore,
    /// Fail over, as on ALARM: for alarms whose data stops when the primary dies.
    Failover,
}

/// What starts a failover of this application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// CloudWatch alarm names (in the primary Region's monitoring, or the
    /// recovery Region's). The detection probe's alarm is one implicitly.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// What a trigger alarm going to INSUFFICIENT_DATA does (default: ignore).
    #[serde(default, skip_serializing_if = "is_default")]
    pub insufficient_data: InsufficientData,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One problem found in a registry document, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryProblem {
    /// Field path such as `applications[1].dns[0].hosted_zone_id` (empty for the document).
    pub path: String,
    pub message: String,
}

impl fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(the document): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a registry document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RegistryErrors(pub Vec<RegistryProblem>);

impl fmt::Display for RegistryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "registry has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// The registry's JSON Schema, generated from the types above.
pub fn registry_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Registry);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// Parses a registry document (YAML or JSON: JSON is YAML) and checks it.
pub fn parse_registry(text: &str) -> Result<Registry, RegistryErrors> {
    let doc: serde_json::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: format!("not valid YAML or JSON: {e}"),
        }])
    })?;
    parse_registry_value(&doc)
}

/// Checks a registry already parsed into a JSON value.
pub fn parse_registry_value(doc: &serde_json::Value) -> Result<Registry, RegistryErrors> {
    let schema = registry_schema();
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: format!("internal error: registry schema does not compile: {e}"),
        }])
    })?;
    let mut problems: Vec<RegistryProblem> = validator
        .iter_errors(doc)
        .map(|e| RegistryProblem {
            path: pointer_to_path(&e.instance_path().to_string()),
            message: e.to_string(),
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        problems.dedup();
        return Err(RegistryErrors(problems));
    }
    let registry: Registry = serde_json::from_value(doc.clone()).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: e.to_string(),
        }])
    })?;
    let problems = check_semantics(&registry);
    if problems.is_empty() {
        Ok(registry)
    } else {
        Err(RegistryErrors(problems))
    }
}

/// `/applications/0/dns/1/name` → `applications[0].dns[1].name`.
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

/// A routing control ARN: `arn:PARTITION:route53-recovery-control::ACCOUNT:controlpanel/ID/routingcontrol/ID`.
pub fn is_routing_control_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return false;
    }
    let path: Vec<&str> = parts[5].split('/').collect();
    parts[2] == "route53-recovery-control"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && path.len() == 4
        && path[0] == "controlpanel"
        && path[2] == "routingcontrol"
        && !path[1].is_empty()
        && !path[3].is_empty()
}

fn check_routing_controls(at: &str, rc: &BySide<String>, have_cluster: bool, push: &mut impl FnMut(String, String)) {
    for side in [Side::Primary, Side::Secondary] {
        let arn = rc.get(side);
        if arn.is_empty() {
            push(
                format!("{at}.traffic.routing_controls.{side}"),
                "required: the routing control ARN of this Region's cell".into(),
            );
        } else if !is_routing_control_arn(arn) {
            push(
                format!("{at}.traffic.routing_controls.{side}"),
                format!(
                    "\"{arn}\" is not a routing control ARN \
                     (arn:aws:route53-recovery-control::ACCOUNT:controlpanel/ID/routingcontrol/ID)"
                ),
            );
        }
    }
    if !rc.primary.is_empty() && rc.primary == rc.secondary {
        push(
            format!("{at}.traffic.routing_controls"),
            "primary and secondary must be different routing controls".into(),
        );
    }
    if !have_cluster {
        push(
            format!("{at}.traffic.routing_controls"),
            "needs the top-level routing_control_cluster (its endpoints, from DescribeCluster)".into(),
        );
    }
}

/// What the schema cannot express.
fn check_semantics(registry: &Registry) -> Vec<RegistryProblem> {
    let mut problems = Vec::new();
    let mut push = |path: String, message: String| problems.push(RegistryProblem { path, message });
    let mut seen_names: HashMap<&str, usize> = HashMap::new();
    let mut record_owner: HashMap<(String, String, RecordType, String), String> = HashMap::new();
    for (i, app) in registry.applications.iter().enumerate() {
        let at = format!("applications[{i}]");
        if let Some(first) = seen_names.insert(&app.name, i) {
            push(
                format!("{at}.name"),
                format!(
                    "duplicate application name \"{}\" (also applications[{first}])",
                    app.name
                ),
            );
        }
        // Alarm names: 1-255 characters (CloudWatch's limit), so a typo'd empty one is not silently never found.
        let alarm_lists = [
            ("verification.alarms.primary", &app.verification.alarms.primary),
            ("verification.alarms.secondary", &app.verification.alarms.secondary),
            ("triggers.alarms", &app.triggers.alarms),
        ];
        for (field, names) in alarm_lists {
            for (k, name) in names.iter().enumerate() {
                if name.trim().is_empty() || name.len() > 255 {
                    push(format!("{at}.{field}[{k}]"), "an alarm name is 1-255 characters".into());
                }
            }
        }
        if app.regions.primary == app.regions.secondary {
            push(
                format!("{at}.regions"),
                "primary and secondary must be different Regions".into(),
            );
        }
        for (j, rec) in app.dns.iter().enumerate() {
            let at = format!("{at}.dns[{j}]");
            if rec.set_identifiers.primary.is_empty() || rec.set_identifiers.secondary.is_empty() {
                push(
                    format!("{at}.set_identifiers"),
                    "both primary and secondary are required".into(),
                );
            } else if rec.set_identifiers.primary == rec.set_identifiers.secondary {
                push(
                    format!("{at}.set_identifiers"),
                    "primary and secondary must differ".into(),
                );
            }
            if rec.standby_weight >= rec.active_weight {
                push(
                    format!("{at}.standby_weight"),
                    format!(
                        "must be less than active_weight ({}), or traffic would not move",
                        rec.active_weight
                    ),
                );
            }
            for side in [Side::Primary, Side::Secondary] {
                let key = (
                    normalize_zone_id(&rec.hosted_zone_id),
                    normalize_record_name(&rec.name),
                    rec.record_type,
                    rec.set_identifiers.get(side).clone(),
                );
                if let Some(owner) = record_owner.insert(key, app.name.clone())
                    && (owner != app.name || side == Side::Primary)
                {
                    push(
                        format!("{at}.set_identifiers.{side}"),
                        format!(
                            "record {} {} is already claimed by application \"{owner}\"",
                            rec.name, rec.record_type
                        ),
                    );
                }
            }
        }
        let v = &app.verification;
        if v.interval_seconds > v.deadline_seconds {
            push(
                format!("{at}.verification.interval_seconds"),
                "must not exceed deadline_seconds".into(),
            );
        }
        if app.database.kind == DatabaseKind::AuroraGlobal && app.database.global_cluster_id.is_none() {
            push(
                format!("{at}.database.global_cluster_id"),
                "required for kind aurora-global".into(),
            );
        }
        if app.database.kind.needs_action() && app.database.identifiers.is_none() {
            push(
                format!("{at}.database.identifiers"),
                format!("required for kind {}", app.database.kind.as_str()),
            );
        }
        // Without a budget the RPO gate would pass any lag: allowing data loss means saying how much.
        if app.database.kind == DatabaseKind::AuroraGlobal
            && app.database.allow_data_loss
            && app.database.max_rpo_seconds.is_none()
        {
            push(
                format!("{at}.database.max_rpo_seconds"),
                "required while data loss is allowed (allow_data_loss, true by default): the most replication \
                 lag, in seconds, a disaster failover may lose; or set allow_data_loss: false (switchover only)"
                    .into(),
            );
        }
        if app.database.kind == DatabaseKind::RdsBackup && app.database.restore.is_none() {
            push(
                format!("{at}.database.restore"),
                "required for kind rds-backup: the restored instance's instance_class (and optionally \
                 subnet_group, security_group_ids, parameter_group)"
                    .into(),
            );
        }
        if app.database.kind != DatabaseKind::RdsBackup && app.database.restore.is_some() {
            push(
                format!("{at}.database.restore"),
                format!("only for kind rds-backup, not {}", app.database.kind.as_str()),
            );
        }
        if app.database.endpoint_record.is_some() && !app.database.kind.needs_action() {
            push(
                format!("{at}.database.endpoint_record"),
                format!("kind {} has no writer to follow", app.database.kind.as_str()),
            );
        }
        if let Some(rc) = app.routing_controls() {
            check_routing_controls(&at, rc, registry.routing_control_cluster.is_some(), &mut push);
        }
        if app.database.interval_seconds > app.database.deadline_seconds {
            push(
                format!("{at}.database.interval_seconds"),
                "must not exceed deadline_seconds".into(),
            );
        }
    }
    // The first application of a duplicated name stands for it (the duplicate is reported above).
    let mut by_name: BTreeMap<&str, &Application> = BTreeMap::new();
    for a in &registry.applications {
        by_name.entry(a.name.as_str()).or_insert(a);
    }
    for (i, app) in registry.applications.iter().enumerate() {
        for (k, dep) in app.depends_on.iter().enumerate() {
            let at = format!("applications[{i}].depends_on[{k}]");
            match by_name.get(dep.as_str()) {
                None => push(at, format!("unknown application \"{dep}\"")),
                Some(_) if dep == &app.name => push(at, "an application cannot depend on itself".into()),
                Some(d) if d.tier > app.tier => push(
                    at,
                    format!(
                        "\"{dep}\" is tier {} but \"{}\" is tier {}: a dependency must not be in a later tier",
                        d.tier, app.name, app.tier
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    if let Some(cycle) = find_cycle(&by_name) {
        push(
            "applications".into(),
            format!("depends_on has a cycle: {}", cycle.join(" -> ")),
        );
    }
    problems
}

fn find_cycle(apps: &BTreeMap<&str, &Application>) -> Option<Vec<String>> {
    // Colours: 0 unvisited, 1 on the stack, 2 done.
    fn visit<'a>(
        name: &'a str,
        apps: &BTreeMap<&'a str, &'a Application>,
        colour: &mut HashMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        colour.insert(name, 1);
        stack.push(name);
        if let Some(app) = apps.get(name) {
            for dep in &app.depends_on {
                let dep = dep.as_str();
                if dep == name || !apps.contains_key(dep) {
                    continue;
                }
                match colour.get(dep).copied().unwrap_or(0) {
                    1 => {
                        let start = stack.iter().position(|n| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                        cycle.push(dep.to_string());
                        return Some(cycle);
                    }
                    0 => {
                        if let Some(c) = visit(dep, apps, colour, stack) {
                            return Some(c);
                        }
                    }
                    _ => {}
                }
            }
        }
        stack.pop();
        colour.insert(name, 2);
        None
    }
    let mut colour = HashMap::new();
    for name in apps.keys() {
        if colour.get(name).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(name, apps, &mut colour, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

impl Registry {
    pub fn app(&self, name: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.name == name)
    }

    /// Applications this alarm triggers (`triggers.alarms`, or their probe's alarm).
    pub fn apps_for_alarm(&self, alarm: &str) -> Vec<&Application> {
        self.applications.iter().filter(|a| a.triggered_by(alarm)).collect()
    }

    /// All alarm names that trigger some application.
    pub fn trigger_alarms(&self) -> BTreeSet<String> {
        self.applications
            .iter()
            .flat_map(|a| a.triggers.alarms.iter().cloned().chain(a.detection_alarm()))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn allowing_data_loss_needs_an_rpo_budget() {
        let with = |db: &str| SAMPLE.replace("database: { kind: dynamodb-global }", db);
        let no_budget =
            with("database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b } }");
        let text = parse_registry(&no_budget).unwrap_err().to_string();
        assert!(
            text.contains("applications[0].database.max_rpo_seconds: required while data loss is allowed"),
            "{text}"
        );
        // Saying how much, or allowing none (switchover only), is valid.
        parse_registry(&with(
            "database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b }, max_rpo_seconds: 30 }",
        ))
        .unwrap();
        parse_registry(&with(
            "database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b }, allow_data_loss: false }",
        ))
        .unwrap();
    }

    pub(crate) const SAMPLE: &str = r#"
version: 1
applications:
  - name: payments
    tier: 0
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - hosted_zone_id: /hostedzone/Z1
        name: payments.example.com
        type: A
        set_identifiers: { primary: payments-use1, secondary: payments-usw2 }
    database: { kind: dynamodb-global }
    triggers: { alarms: [payments-5xx] }
  - name: web
    tier: 1
    depends_on: [payments]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - hosted_zone_id: Z2
        name: www.example.org.
        type: CNAME
        set_identifiers: { primary: web-use1, secondary: web-usw2 }
        active_weight: 200
        standby_weight: 1
    verification:
      health_checks: { secondary: hc-web-usw2 }
      alarms: { secondary: [web-usw2-errors] }
      deadline_seconds: 120
      interval_seconds: 10
"#;

    #[test]
    fn parses_a_yaml_registry_with_defaults() {
        let r = parse_registry(SAMPLE).unwrap();
        assert_eq!(r.applications.len(), 2);
        let p = &r.applications[0];
        assert_eq!(p.dns[0].active_weight, 100);
        assert_eq!(p.dns[0].standby_weight, 0);
        assert_eq!(p.verification.deadline_seconds, 300);
        assert_eq!(p.database.kind, DatabaseKind::DynamodbGlobal);
        assert_eq!(r.apps_for_alarm("payments-5xx")[0].name, "payments");
        assert!(r.apps_for_alarm("nope").is_empty());
    }

    #[test]
    fn json_documents_parse_the_same() {
        let yaml = parse_registry(SAMPLE).unwrap();
        let json = serde_json::to_string(&yaml).unwrap();
        assert_eq!(parse_registry(&json).unwrap(), yaml);
    }

    #[test]
    fn reports_every_schema_problem_with_its_field_path() {
        let doc = r#"
version: 1
applications:
  - name: Bad_Name
    regions: { primary: us-east-1 }
    dns:
      - hosted_zone_id: Z1
        name: a.example.com
        type: BOGUS
        set_identifiers: { primary: a, secondary: b }
        colour: blue
"#;
        let errs = parse_registry(doc).unwrap_err();
        let text = errs.to_string();
        let paths: Vec<&str> = errs.0.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"applications[0].name"), "{text}");
        assert!(paths.contains(&"applications[0].regions"), "{text}");
        assert!(paths.contains(&"applications[0].dns[0].type"), "{text}");
        assert!(paths.contains(&"applications[0].dns[0]"), "{text}");
        assert!(text.contains("colour"), "{text}");
    }

    #[test]
    fn reports_semantic_problems_with_paths() {
        let doc = r#"
version: 1
applications:
  - name: a
    depends_on: [b, ghost]
    regions: { primary: us-east-1, secondary: us-east-1 }
    dns:
      - { hosted_zone_id: Z1, name: a.example.com, type: A, set_identifiers: { primary: x, secondary: x } }
  - name: b
    depends_on: [a]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - { hosted_zone_id: Z1, name: b.example.com, type: A, set_identifiers: { primary: p, secondary: s }, active_weight: 5, standby_weight: 5 }
  - name: a
    regions: { primary: us-east-1, secondary: us-west-2 }
    database: { kind: aurora-global }
    dns:
      - { hosted_zone_id: Z1, name: B.example.com., type: A, set_identifiers: { primary: p, secondary: s2 } }
"#;
        let errs = parse_registry(doc).unwrap_err();
        let text = errs.to_string();
        for expected in [
            "applications[2].name: duplicate application name \"a\"",
            "applications[0].regions: primary and secondary must be different",
            "applications[0].dns[0].set_identifiers: primary and secondary must differ",
            "applications[1].dns[0].standby_weight: must be less than active_weight",
            "applications[2].dns[0].set_identifiers.primary: record B.example.com. A is already claimed by application \"b\"",
            "applications[2].database.global_cluster_id: required",
            "applications[0].depends_on[1]: unknown application \"ghost\"",
            "depends_on has a cycle",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn a_dependency_in_a_later_tier_is_refused() {
        let doc = r#"
version: 1
applications:
  - { name: a, tier: 0, depends_on: [b], regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: { primary: a1, secondary: a2 } } ] }
  - { name: b, tier: 1, regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: b.x., type: A, set_identifiers: { primary: b1, secondary: b2 } } ] }
"#;
        let text = parse_registry(doc).unwrap_err().to_string();
        assert!(
            text.contains("applications[0].depends_on[0]: \"b\" is tier 1"),
            "{text}"
        );
    }

    #[test]
    fn routing_controls_need_the_cluster_and_two_distinct_arns() {
        let arn = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/a";
        let doc = format!(
            r#"
version: 1
applications:
  - name: a
    regions: {{ primary: us-east-1, secondary: us-west-2 }}
    traffic: {{ routing_controls: {{ primary: {arn}, secondary: {arn} }} }}
    dns: [ {{ hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: {{ primary: a1, secondary: a2 }} }} ]
  - name: b
    regions: {{ primary: us-east-1, secondary: us-west-2 }}
    traffic: {{ routing_controls: {{ primary: not-an-arn }} }}
    dns: [ {{ hosted_zone_id: Z1, name: b.x., type: A, set_identifiers: {{ primary: b1, secondary: b2 }} }} ]
"#
        );
        let text = parse_registry(&doc).unwrap_err().to_string();
        for expected in [
            "applications[0].traffic.routing_controls: primary and secondary must be different",
            "applications[0].traffic.routing_controls: needs the top-level routing_control_cluster",
            "applications[1].traffic.routing_controls.primary: \"not-an-arn\" is not a routing control ARN",
            "applications[1].traffic.routing_controls.secondary: required",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn the_recovery_regions_endpoint_is_tried_first() {
        let cluster = RoutingControlCluster {
            endpoints: ["us-east-1", "us-west-2", "eu-west-1"]
                .iter()
                .map(|r| ClusterEndpoint {
                    region: r.to_string(),
                    url: format!("https://{r}"),
                })
                .collect(),
        };
        let order: Vec<String> = cluster
            .endpoints_from("us-west-2")
            .into_iter()
            .map(|e| e.region)
            .collect();
        assert_eq!(order, vec!["us-west-2", "us-east-1", "eu-west-1"]);
        assert!(is_routing_control_arn(
            "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def"
        ));
        assert!(!is_routing_control_arn(
            "arn:aws:route53-recovery-control::111122223333:cluster/abc"
        ));
    }

    #[test]
    fn malformed_text_is_one_clear_problem() {
        let errs = parse_registry("version: [1\n").unwrap_err();
        assert_eq!(errs.0.len(), 1);
        assert!(errs.0[0].message.starts_with("not valid YAML or JSON"));
    }

    #[test]
    fn names_and_zone_ids_normalize_like_route53() {
        assert_eq!(normalize_record_name("API.Example.com"), "api.example.com.");
        assert_eq!(normalize_record_name("\\052.example.com."), "*.example.com.");
        assert_eq!(normalize_zone_id("/hostedzone/Z9"), "Z9");
    }

    #[test]
    fn committed_schema_matches_the_types() {
        if std::env::var_os("LIFEBOAT_BLESS").is_some() {
            let text = serde_json::to_string_pretty(&registry_schema()).unwrap() + "\n";
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/registry.schema.json"),
                text,
            )
            .unwrap();
        }
        let committed: serde_json::Value =
            serde_json::from_str(include_str!("../../../schema/registry.schema.json")).unwrap();
        assert_eq!(
            committed,
            registry_schema(),
            "schema/registry.schema.json is stale: run `lifeboat registry schema > schema/registry.schema.json`"
        );
    }
}

#[cfg(test)]
mod example_tests {
    #[test]
    fn the_documented_example_registry_is_valid() {
        let r = super::parse_registry(include_str!("../../../examples/registry.yaml")).unwrap();
        assert_eq!(r.applications.len(), 3);
    }
}

#[cfg(test)]
mod properties {
    //! The registry parser: any text, or a valid registry with any one field
    //! replaced by any JSON, is a registry or a list of problems with field
    //! paths, never a panic; a valid registry survives a round trip.

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn sample() -> Value {
        serde_json::to_value(parse_registry(tests::SAMPLE).unwrap()).unwrap()
    }

    /// Every JSON pointer in `v` (objects and arrays).
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{at}/{k}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn replacement() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!(86_401)),
            ".{0,20}".prop_map(Value::from),
            Just(json!("")),
            Just(json!([])),
            Just(json!({})),
            Just(json!({"unexpected": 1})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_is_a_registry_or_problems_never_a_panic(text in ".{0,200}") {
            if let Err(e) = parse_registry(&text) {
                prop_assert!(!e.0.is_empty());
            }
        }

        #[test]
        fn any_field_replaced_by_anything_is_a_registry_or_problems_with_paths(
            pick in any::<prop::sample::Index>(),
            with in replacement(),
        ) {
            let mut doc = sample();
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let at = pick.get(&all).clone();
            if let Some(slot) = doc.pointer_mut(&at) {
                *slot = with;
            }
            match parse_registry_value(&doc) {
                Ok(reg) => {
                    // Whatever it accepted validates again, the same.
                    let again = parse_registry_value(&serde_json::to_value(&reg).unwrap()).unwrap();
                    prop_assert_eq!(again, reg);
                }
                Err(e) => {
                    prop_assert!(!e.0.is_empty());
                    for p in &e.0 {
                        prop_assert!(!p.message.is_empty(), "{:?}", p);
                    }
                }
            }
        }

        #[test]
        fn a_valid_registry_survives_yaml_and_json_round_trips(keep in prop::collection::vec(any::<bool>(), 2)) {
            let mut reg = parse_registry(tests::SAMPLE).unwrap();
            // Drop web (it depends on payments) or keep both.
            if !keep[0] {
                reg.applications.retain(|a| a.name != "web");
            }
            let yaml = serde_yaml_ng::to_string(&reg).unwrap();
            prop_assert_eq!(parse_registry(&yaml).unwrap(), reg.clone());
            let json = serde_json::to_string(&reg).unwrap();
            prop_assert_eq!(parse_registry(&json).unwrap(), reg);
        }
    }
}
