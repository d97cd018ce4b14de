//! HTTP(S) probes of application endpoints.

use super::prelude::*;

/// What one HTTP(S) probe got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The status, when the endpoint answered.
    pub status: Option<u16>,
    /// Why it did not answer (connect error, timeout, TLS).
    pub error: Option<String>,
    pub millis: u64,
}

/// HTTP(S) GETs of application endpoints, with a short timeout.
#[async_trait]
pub trait HttpProbe: Send + Sync {
    async fn get(&self, url: &str) -> ProbeAnswer;
}
