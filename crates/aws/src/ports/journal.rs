//! The run journal, and its documents split into parts.

use super::prelude::*;

/// The run journal.
#[async_trait]
pub trait Journal: Send + Sync {
    async fn ensure_table(&self) -> Result<bool, AwsError>;
    /// Writes the run's record and one entry per application (idempotent: same run id, same items).
    async fn record_run(&self, run: &RunRecord) -> Result<(), AwsError>;
    /// Recent runs, newest first.
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, AwsError>;
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, AwsError>;
    /// Claims an execution name, as StartExecution does: true for the first
    /// claim, false if the name was used before (the same trigger delivered again).
    async fn claim_execution(&self, name: &str, at: DateTime<Utc>) -> Result<bool, AwsError>;
    /// Records a trigger that was not executed (lease held, cooldown).
    async fn record_ignored(&self, run_id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), AwsError>;
    /// Triggers recorded as ignored under a run id.
    async fn ignored(&self, run_id: &str) -> Result<Vec<String>, AwsError>;
    /// Writes run documents (the plan, a wave's progress): JSON text by key,
    /// each split into parts that fit an item, in as few calls as it can.
    async fn put_docs(&self, run_id: &str, docs: &[(String, String)]) -> Result<(), AwsError>;
    /// The run's documents whose key starts with `prefix`, by key.
    async fn get_docs(&self, run_id: &str, prefix: &str) -> Result<BTreeMap<String, String>, AwsError>;
}

/// The most text one document part holds: DynamoDB items are at most 400 KB.
pub const DOC_PART_BYTES: usize = 350 * 1024;

/// Splits `text` into parts of at most `max` bytes, on character boundaries.
pub fn split_parts(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}
