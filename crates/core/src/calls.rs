//! Counting AWS API calls: the cost that matters at scale.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// API calls by `service:Operation` (e.g. `route53:ChangeResourceRecordSets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiCalls(pub BTreeMap<String, u64>);

impl ApiCalls {
    pub fn add(&mut self, key: &str, n: u64) {
        *self.0.entry(key.to_string()).or_default() += n;
    }
    pub fn merge(&mut self, other: &ApiCalls) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }
    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
    /// Calls whose operation changes something (the ones an idempotent rerun must not make).
    pub fn mutating(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| {
                let op = k.split(':').nth(1).unwrap_or("");
                !(op.starts_with("Get")
                    || op.starts_with("List")
                    || op.starts_with("Describe")
                    || op.starts_with("Query")
                    || op.starts_with("Scan"))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_and_mutating_excludes_reads() {
        let mut a = ApiCalls::default();
        a.add("route53:ListResourceRecordSets", 2);
        let mut b = ApiCalls::default();
        b.add("route53:ListResourceRecordSets", 1);
        b.add("route53:ChangeResourceRecordSets", 1);
        b.add("dynamodb:Scan", 1);
        a.merge(&b);
        assert_eq!(a.get("route53:ListResourceRecordSets"), 3);
        assert_eq!(a.total(), 5);
        assert_eq!(a.mutating(), 1);
    }
}
