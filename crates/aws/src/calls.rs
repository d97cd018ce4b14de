//! Counts every AWS request attempt (retries included) by service and operation.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lifeboat_core::calls::ApiCalls;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A shared tally of API calls. A child counter also adds to its parent, so a
/// task invocation's calls roll up into the whole run's.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<ApiCalls>>,
    /// DynamoDB calls by (operation, table): IAM authorises them per table.
    tables: Arc<Mutex<BTreeSet<(String, String)>>>,
    /// Counters its counts also go to (the run's; a member role's tally).
    parents: Vec<CallCounter>,
}

/// The tables a DynamoDB request names (TableName, RequestItems, TransactItems).
fn dynamodb_tables(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut out: Vec<String> = v["TableName"].as_str().map(str::to_string).into_iter().collect();
    if let Some(items) = v["RequestItems"].as_object() {
        out.extend(items.keys().cloned());
    }
    for item in v["TransactItems"].as_array().into_iter().flatten() {
        if let Some(op) = item.as_object().and_then(|o| o.values().next()) {
            out.extend(op["TableName"].as_str().map(str::to_string));
        }
    }
    out
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }
    /// A fresh counter whose counts also go to `self`.
    pub fn child(&self) -> CallCounter {
        CallCounter {
            counts: Arc::default(),
            tables: Arc::default(),
            parents: vec![self.clone()],
        }
    }
    /// A fresh counter whose counts also go to `self` and to `other`.
    pub fn child_also(&self, other: &CallCounter) -> CallCounter {
        CallCounter {
            counts: Arc::default(),
            tables: Arc::default(),
            parents: vec![self.clone(), other.clone()],
        }
    }
    fn record_table(&self, op: &str, table: &str) {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((op.to_string(), table.to_string()));
        for p in &self.parents {
            p.record_table(op, table);
        }
    }
    /// Every (DynamoDB operation, table) called.
    pub fn dynamodb_tables(&self) -> BTreeSet<(String, String)> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn record(&self, key: &str) {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).add(key, 1);
        for p in &self.parents {
            p.record(key);
        }
    }
    pub fn snapshot(&self) -> ApiCalls {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `Route 53` → `route53`, `DynamoDB` → `dynamodb`.
fn service_key(service: &str) -> String {
    service
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "lifeboat-call-counter"
    }

    fn read_before_attempt(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(md) = cfg.load::<Metadata>() {
            let service = service_key(md.service());
            self.record(&format!("{service}:{}", md.name()));
            if service == "dynamodb"
                && let Some(body) = context.request().body().bytes()
            {
                for table in dynamodb_tables(body) {
                    self.record_table(md.name(), &table);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_counts_roll_up_to_the_parent() {
        let run = CallCounter::new();
        let task = run.child();
        task.record("route53:GetChange");
        run.record("dynamodb:Scan");
        assert_eq!(task.snapshot().total(), 1);
        assert_eq!(run.snapshot().total(), 2);
        assert_eq!(service_key("Route 53"), "route53");
    }
}
