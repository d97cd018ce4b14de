//! The workflow's timings, each declared once. The state machine's waits and
//! limits (written by the workflow crate), the tasks' check counts and the
//! plan's time budget all read these, so they cannot drift apart.

/// How long an execution may run (the definition's TimeoutSeconds): the
/// lease lives as long, and Validate refuses a plan that would not fit.
pub const EXECUTION_TIMEOUT_SECONDS: u64 = 7200;

/// The wait between two looks at a DNS change (WaitForDnsSync,
/// WaitForRollbackSync).
pub const DNS_SYNC_POLL_SECONDS: u64 = 5;

/// Looks at a DNS change before the wave fails (`Lifeboat.NotReady`):
/// Route 53 usually propagates within a minute.
pub const DNS_SYNC_MAX_CHECKS: u32 = 60;

/// How long a DNS change may take to be INSYNC: the looks it is given.
pub const DNS_SYNC_ALLOWANCE_SECONDS: u64 = DNS_SYNC_POLL_SECONDS * DNS_SYNC_MAX_CHECKS as u64;

// Checked as the crate compiles: a wave's shift and its rollback each get
// the DNS allowance, well within an execution; and the lease's TTL (u32
// seconds) holds the execution's timeout.
const _: () = assert!(2 * DNS_SYNC_ALLOWANCE_SECONDS < EXECUTION_TIMEOUT_SECONDS);
const _: () = assert!(EXECUTION_TIMEOUT_SECONDS <= u32::MAX as u64);
