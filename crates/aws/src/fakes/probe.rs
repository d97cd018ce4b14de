//! HTTP endpoints in memory.

use super::prelude::*;

/// Endpoints that answer a set status; any other URL does not answer.
#[derive(Debug, Default)]
pub struct FakeProbe {
    pub answers: Mutex<HashMap<String, u16>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeProbe {
    pub fn answer(&self, url: &str, status: u16) {
        lock(&self.answers).insert(url.to_string(), status);
    }
}

#[async_trait]
impl HttpProbe for FakeProbe {
    async fn get(&self, url: &str) -> ProbeAnswer {
        lock(&self.calls).push(url.to_string());
        match lock(&self.answers).get(url) {
            Some(status) => ProbeAnswer {
                status: Some(*status),
                error: None,
                millis: 1,
            },
            None => ProbeAnswer {
                status: None,
                error: Some("no answer: connection refused (fake)".into()),
                millis: 1,
            },
        }
    }
}
