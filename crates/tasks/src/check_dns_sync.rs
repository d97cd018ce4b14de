//! CheckDnsSync (and its Recheck...Sync loops): one look whether every submitted Route 53 change is INSYNC. The
//! state machine repeats it (Wait + check loop, as for databases and
//! verification) while any is pending, up to [`MAX_CHECKS`].

use crate::dispatch::TaskKind;
use crate::services::Services;
use crate::shift_dns::ChangeRef;
use crate::task::Task;
use lifeboat_aws::ports::DnsWriter;
use lifeboat_core::LifeboatError;
use lifeboat_core::registry::Account;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Checks before the wave fails (`Lifeboat.NotReady`), each
/// [`lifeboat_core::timing::DNS_SYNC_POLL_SECONDS`] apart in the definition.
pub const MAX_CHECKS: u32 = lifeboat_core::timing::DNS_SYNC_MAX_CHECKS;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDnsSyncInput {
    pub changes: Vec<ChangeRef>,
    /// Checks made so far.
    #[serde(default)]
    pub checks: u32,
    /// The running total of calls, from the previous check.
    #[serde(default)]
    pub api_calls: Option<lifeboat_core::calls::ApiCalls>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckDnsSyncOutput {
    pub in_sync: usize,
    /// Changes still PENDING: the loop goes on while > 0.
    pub pending: usize,
    pub checks: u32,
    /// The calls of every check so far (the task counts them).
    #[serde(default)]
    pub api_calls: lifeboat_core::calls::ApiCalls,
}

/// One look at the changes: how many are INSYNC, how many still PENDING.
/// A change is looked at in the account that submitted it (`writer_for` its account).
pub async fn check_dns_sync(
    writer_for: impl Fn(Option<&Account>) -> Arc<dyn DnsWriter>,
    input: CheckDnsSyncInput,
) -> Result<CheckDnsSyncOutput, LifeboatError> {
    let mut pending = Vec::new();
    for c in &input.changes {
        if !writer_for(c.account.as_ref()).change_in_sync(&c.change_id).await? {
            pending.push(format!("{} (zone {})", c.change_id, c.hosted_zone_id));
        }
    }
    let checks = input.checks + 1;
    if !pending.is_empty() && checks >= MAX_CHECKS {
        return Err(LifeboatError::not_ready(format!(
            "Route 53 change(s) still PENDING after {checks} checks: {}",
            pending.join(", ")
        )));
    }
    Ok(CheckDnsSyncOutput {
        in_sync: input.changes.len() - pending.len(),
        pending: pending.len(),
        checks,
        api_calls: Default::default(),
    })
}

/// The CheckDnsSync state, and every DNS sync loop's checks.
pub struct CheckDnsSync;

impl Task for CheckDnsSync {
    const KIND: TaskKind = TaskKind::CheckDnsSync;
    type Input = CheckDnsSyncInput;
    type Output = CheckDnsSyncOutput;

    async fn run(s: &Services, input: CheckDnsSyncInput) -> Result<CheckDnsSyncOutput, LifeboatError> {
        let carried = input.api_calls.clone();
        let mut out = check_dns_sync(|account| s.for_account(account).dns_write, input).await?;
        out.api_calls = s.calls_made(carried.as_ref());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::estate;
    use lifeboat_aws::ports::DnsReader;

    #[tokio::test]
    async fn pending_changes_are_counted_until_insync_and_fail_past_the_bound() {
        let r53 = Arc::new(estate());
        let writer = |_: Option<&Account>| r53.clone() as Arc<dyn DnsWriter>;
        *r53.pending_polls.lock().unwrap() = 2;
        let recs = r53.record_sets("Z1", "api.example.com.", "A").await.unwrap();
        let id = r53.upsert("Z1", &recs[..1], "t").await.unwrap();
        let mut input = CheckDnsSyncInput {
            changes: vec![ChangeRef {
                hosted_zone_id: "Z1".into(),
                change_id: id,
                records: 1,
                account: None,
            }],
            checks: 0,
            api_calls: None,
        };
        for _ in 0..2 {
            let out = check_dns_sync(writer, input.clone()).await.unwrap();
            assert_eq!((out.pending, out.in_sync), (1, 0));
            input.checks = out.checks;
        }
        let out = check_dns_sync(writer, input.clone()).await.unwrap();
        assert_eq!((out.pending, out.in_sync, out.checks), (0, 1, 3));
        // A change that never goes INSYNC fails the wave at the bound.
        *r53.pending_polls.lock().unwrap() = 1000;
        let id = r53.upsert("Z1", &recs[..1], "t").await.unwrap();
        input.changes[0].change_id = id;
        input.checks = MAX_CHECKS - 1;
        let err = check_dns_sync(writer, input).await.unwrap_err();
        assert_eq!(err.name, lifeboat_core::ErrorName::NotReady);
        assert!(err.message.contains("PENDING after 60 checks"), "{err}");
    }
}
