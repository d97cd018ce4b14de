//! wait_dns: succeed once every submitted change is INSYNC; otherwise fail
//! with `Lifeboat.NotReady`, which the state machine retries with back-off.

use crate::shift_dns::ChangeRef;
use lifeboat_aws::ports::DnsWriter;
use lifeboat_core::LifeboatError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitDnsInput {
    pub changes: Vec<ChangeRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitDnsOutput {
    pub in_sync: usize,
}

pub async fn wait_dns(writer: &dyn DnsWriter, input: WaitDnsInput) -> Result<WaitDnsOutput, LifeboatError> {
    let mut pending = Vec::new();
    for c in &input.changes {
        if !writer.change_in_sync(&c.change_id).await? {
            pending.push(format!("{} (zone {})", c.change_id, c.hosted_zone_id));
        }
    }
    if pending.is_empty() {
        Ok(WaitDnsOutput {
            in_sync: input.changes.len(),
        })
    } else {
        Err(LifeboatError::not_ready(format!(
            "Route 53 change(s) still PENDING: {}",
            pending.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::estate;
    use lifeboat_aws::ports::DnsReader;

    #[tokio::test]
    async fn pending_changes_are_not_ready_until_insync() {
        let r53 = estate();
        *r53.pending_polls.lock().unwrap() = 2;
        let recs = r53.record_sets("Z1", "api.example.com.", "A").await.unwrap();
        let id = r53.upsert("Z1", &recs[..1], "t").await.unwrap();
        let input = WaitDnsInput {
            changes: vec![ChangeRef {
                hosted_zone_id: "Z1".into(),
                change_id: id,
                records: 1,
            }],
        };
        for _ in 0..2 {
            let err = wait_dns(&r53, input.clone()).await.unwrap_err();
            assert_eq!(err.name, lifeboat_core::ErrorName::NotReady);
            assert!(err.message.contains("PENDING"));
        }
        assert_eq!(wait_dns(&r53, input).await.unwrap().in_sync, 1);
    }
}
