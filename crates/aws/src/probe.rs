//! HTTP(S) probes of application endpoints: one GET, a short timeout, the
//! status or why there was none. Built on the hyper/rustls stack the SDK
//! already uses (native root certificates, aws-lc crypto).

use crate::ports::{HttpProbe, ProbeAnswer};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Probes over HTTP/1.1, plain or TLS.
#[derive(Clone)]
pub struct HyperProbe {
    client: Client<Https, Empty<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HyperProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperProbe").field("timeout", &self.timeout).finish()
    }
}

impl HyperProbe {
    /// A prober whose GETs give up after `timeout` (connect included).
    pub fn new(timeout: Duration) -> Result<HyperProbe, String> {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("no TLS roots for probes: {e}"))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Ok(HyperProbe {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }
}

#[async_trait]
impl HttpProbe for HyperProbe {
    async fn get(&self, url: &str) -> ProbeAnswer {
        let started = Instant::now();
        let millis = |s: Instant| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX);
        let uri: http::Uri = match url.parse() {
            Ok(u) => u,
            Err(e) => {
                return ProbeAnswer {
                    status: None,
                    error: Some(format!("not a URL: {e}")),
                    millis: 0,
                };
            }
        };
        let request = match http::Request::get(uri)
            .header("user-agent", "lifeboat-probe")
            .body(Empty::<Bytes>::new())
        {
            Ok(r) => r,
            Err(e) => {
                return ProbeAnswer {
                    status: None,
                    error: Some(e.to_string()),
                    millis: 0,
                };
            }
        };
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(resp)) => ProbeAnswer {
                status: Some(resp.status().as_u16()),
                error: None,
                millis: millis(started),
            },
            Ok(Err(e)) => ProbeAnswer {
                status: None,
                error: Some(format!("no answer: {e}")),
                millis: millis(started),
            },
            Err(_) => ProbeAnswer {
                status: None,
                error: Some(format!("no answer within {} s", self.timeout.as_secs())),
                millis: millis(started),
            },
        }
    }
}
