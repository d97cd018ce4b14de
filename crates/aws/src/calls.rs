//! Counts every AWS request attempt (retries included) by service and operation.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lifeboat_core::calls::ApiCalls;
use std::sync::{Arc, Mutex};

/// A shared tally of API calls. A child counter also adds to its parent, so a
/// task invocation's calls roll up into the whole run's.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<ApiCalls>>,
    parent: Option<Box<CallCounter>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }
    /// A fresh counter whose counts also go to `self`.
    pub fn child(&self) -> CallCounter {
        CallCounter {
            counts: Arc::default(),
            parent: Some(Box::new(self.clone())),
        }
    }
    pub fn record(&self, key: &str) {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).add(key, 1);
        if let Some(p) = &self.parent {
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
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(md) = cfg.load::<Metadata>() {
            self.record(&format!("{}:{}", service_key(md.service()), md.name()));
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
