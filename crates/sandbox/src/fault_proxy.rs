//! A fault-injecting HTTP proxy in front of the emulator (tests and the
//! demo's "us-east-1 goes dark" chapter; loopback only): answers the first N
//! matching requests with a canned AWS error (e.g. a whole Region gone dark)
//! and forwards everything else unchanged; or, with a [`Rule`], decides each
//! request: forward it, refuse it, or forward it and answer a 5xx as if the
//! answer had been lost after AWS applied it ([`storm`]). It counts requests
//! by the service and Region they are signed for. An HTTP/1.1 server and
//! client on hyper, the stack the SDK itself speaks through.

use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Route 53's throttling error, as its REST-XML protocol sends it.
pub const ROUTE53_THROTTLING: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>lifeboat-fault-proxy</RequestId></ErrorResponse>";

/// What a matcher sees of a request.
#[derive(Debug)]
pub struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The SigV4 credential scope's service and Region (`route53`, `us-east-1`).
    pub service: &'a str,
    pub region: &'a str,
    /// The `X-Amz-Target` header (JSON protocols), or empty.
    pub target: &'a str,
    /// The request body, as text.
    pub body: &'a str,
}

type Matcher = fn(&Seen) -> bool;

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward it unchanged.
    Forward,
    /// Answer without forwarding.
    Refuse { status: u16, body: String },
    /// Forward it (AWS applies it), then answer this instead of AWS's answer.
    LoseAnswer { status: u16, body: String },
}

/// Decides each request's fault.
pub type Rule = Arc<dyn Fn(&Seen) -> Fault + Send + Sync>;

/// Matches Route 53 ChangeResourceRecordSets (`POST .../hostedzone/{id}/rrset`).
pub fn change_resource_record_sets(r: &Seen) -> bool {
    r.method == "POST" && r.path.contains("/hostedzone/") && r.path.trim_end_matches('/').ends_with("/rrset")
}

/// us-east-1 is dark: every call signed for it, and every Route 53 API call
/// (Route 53's control plane is in us-east-1 whatever a client signs for).
pub fn us_east_1_dark(r: &Seen) -> bool {
    r.region == "us-east-1" || r.service == "route53"
}

/// Matches the journal write of a run's record (its per-app items), nothing else.
pub fn journal_record_write(r: &Seen) -> bool {
    r.service == "dynamodb" && r.body.contains("\"app#0#")
}

/// DynamoDB's answer when it fails inside.
pub const DYNAMODB_INTERNAL_ERROR: &str =
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\",\"message\":\"Internal server error\"}";

/// What a dark Region's endpoint answers (a load balancer with nothing behind it).
pub const SERVICE_UNAVAILABLE: &str = "Service Unavailable";

/// `Credential=KEY/DATE/REGION/SERVICE/aws4_request` → (service, region).
fn credential_scope(headers: &HeaderMap) -> (String, String) {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope = auth
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("");
    let parts: Vec<&str> = scope.split('/').collect();
    match parts.as_slice() {
        [_, _, region, service, _] => (service.to_string(), region.to_string()),
        _ => (String::new(), String::new()),
    }
}

/// A running proxy: an HTTP/1.1 server (hyper) on its own thread and
/// runtime, so a test's runtime (or none) never starves it. Dropping it
/// stops it.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Requests of one `service@region`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub forwarded: usize,
    pub refused: usize,
}

/// What every connection shares: the rule, where to forward, the counts.
struct Shared {
    rule: Rule,
    upstream: String,
    injected: AtomicUsize,
    forwarded: AtomicUsize,
    by_scope: Mutex<BTreeMap<String, Counts>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

type Upstream = Client<HttpConnector, Full<Bytes>>;
type Answer = Response<Full<Bytes>>;

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port; fails the first `failures` requests `matcher` accepts.
    pub fn start(
        upstream_port: u16,
        matcher: Matcher,
        failures: usize,
        status: u16,
        body: &'static str,
    ) -> std::io::Result<FaultProxy> {
        let remaining = Arc::new(AtomicUsize::new(failures));
        let rule: Rule = Arc::new(move |seen: &Seen| {
            if matcher(seen)
                && remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                Fault::Refuse {
                    status,
                    body: body.to_string(),
                }
            } else {
                Fault::Forward
            }
        });
        Self::with_rule(upstream_port, rule)
    }

    /// Listens on a free 127.0.0.1 port; `rule` decides each request.
    pub fn with_rule(upstream_port: u16, rule: Rule) -> std::io::Result<FaultProxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            rule,
            upstream: format!("http://127.0.0.1:{upstream_port}"),
            injected: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            by_scope: Mutex::new(BTreeMap::new()),
        });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let serving = shared.clone();
        std::thread::Builder::new()
            .name(format!("fault-proxy-{port}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = serve(listener, serving) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(FaultProxy {
            port,
            shared,
            stop: Some(stop),
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// How many requests got the canned error.
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }
    /// Requests by `service@region` of their signature.
    pub fn by_scope(&self) -> BTreeMap<String, Counts> {
        self.shared.by_scope.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Accepts connections until stopped, each served on its own task.
async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let upstream: Upstream = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (shared, upstream) = (shared.clone(), upstream.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (shared, upstream) = (shared.clone(), upstream.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(req, &shared, &upstream).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error in the protocol the request spoke (JSON or XML).
fn answer(status: u16, body: String) -> Answer {
    let content_type = if body.starts_with('{') {
        "application/x-amz-json-1.0"
    } else {
        "text/xml"
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

/// Passes the request on unchanged and returns the emulator's answer, or a
/// 502 when it did not answer.
async fn forward(upstream: &Upstream, base: &str, parts: &http::request::Parts, body: Bytes) -> Answer {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = parts.method.clone();
    *request.headers_mut() = parts.headers.clone();
    match format!("{base}{target}").parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(e) => return answer(502, format!("fault proxy: bad request target {target}: {e}")),
    }
    let response = match upstream.request(request).await {
        Ok(r) => r,
        Err(e) => return answer(502, format!("fault proxy: the emulator did not answer: {e}")),
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => Response::from_parts(parts, Full::new(collected.to_bytes())),
        Err(e) => answer(502, format!("fault proxy: the emulator's answer broke off: {e}")),
    }
}

async fn handle(req: Request<Incoming>, shared: &Shared, upstream: &Upstream) -> Answer {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return answer(400, format!("fault proxy: the request body broke off: {e}")),
    };
    let (service, region) = credential_scope(&parts.headers);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body);
    let seen = Seen {
        method: parts.method.as_str(),
        path: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        service: &service,
        region: &region,
        target,
        body: &body_text,
    };
    let fault = (shared.rule)(&seen);
    if let Ok(mut m) = shared.by_scope.lock() {
        let c = m.entry(format!("{service}@{region}")).or_default();
        if matches!(fault, Fault::Forward) {
            c.forwarded += 1;
        } else {
            c.refused += 1;
        }
    }
    match fault {
        Fault::Refuse { status, body } => {
            shared.injected.fetch_add(1, Ordering::SeqCst);
            answer(status, body)
        }
        Fault::LoseAnswer { status, body: lost } => {
            shared.injected.fetch_add(1, Ordering::SeqCst);
            forward(upstream, &shared.upstream, &parts, body).await;
            answer(status, lost)
        }
        Fault::Forward => {
            shared.forwarded.fetch_add(1, Ordering::SeqCst);
            forward(upstream, &shared.upstream, &parts, body).await
        }
    }
}

/// Whether a request changes something (what a lost answer makes dangerous):
/// DynamoDB and AWS's other JSON APIs by operation, RDS by Action, Route 53's
/// change batches, CloudWatch's writes.
pub fn is_write(r: &Seen) -> bool {
    let op = if r.target.is_empty() {
        r.body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("")
    } else {
        r.target.rsplit('.').next().unwrap_or("")
    };
    if r.service == "route53" {
        return change_resource_record_sets(r);
    }
    [
        "Put",
        "Update",
        "Delete",
        "BatchWrite",
        "TransactWrite",
        "Failover",
        "Switchover",
        "Promote",
        "Restore",
        "Set",
        "Start",
        "Create",
    ]
    .iter()
    .any(|p| op.starts_with(p))
}

/// Each service's throttling error, in its protocol.
pub fn throttling_error(r: &Seen) -> String {
    match r.service {
        "route53" => ROUTE53_THROTTLING.to_string(),
        "dynamodb" => {
            "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",\"message\":\"Rate exceeded\"}".into()
        }
        _ if !r.target.is_empty() => "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}".into(),
        "monitoring" => query_error("Throttling"),
        _ => query_error("ThrottlingException"),
    }
}

fn query_error(code: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message></Error><RequestId>lifeboat-fault-proxy</RequestId></ErrorResponse>"
    )
}

/// Applies the first `n` requests `matcher` accepts and answers each 503, as
/// if AWS had done it and the answer had been lost.
pub fn lose_answers(matcher: Matcher, n: usize) -> Rule {
    let remaining = AtomicUsize::new(n);
    Arc::new(move |r: &Seen| {
        if matcher(r)
            && remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |k| k.checked_sub(1))
                .is_ok()
        {
            Fault::LoseAnswer {
                status: 503,
                body: query_error("ServiceUnavailable"),
            }
        } else {
            Fault::Forward
        }
    })
}

/// Matches an RDS request of this Action (`Action=FailoverGlobalCluster`).
pub fn rds_action(r: &Seen, action: &str) -> bool {
    r.service == "rds" && r.body.split('&').any(|kv| kv == format!("Action={action}"))
}

/// A storm: `throttle_percent` of requests answered as their service's
/// throttling, and `lose_percent` of writes applied and then answered 503,
/// drawn from a generator seeded with `seed` (requests racing on several
/// threads may take the draws in another order from run to run).
pub fn storm(seed: u64, throttle_percent: u32, lose_percent: u32) -> Rule {
    let rng = Mutex::new(fastrand::Rng::with_seed(seed));
    Arc::new(move |r: &Seen| {
        let (throttle, lose) = match rng.lock() {
            Ok(mut g) => (g.u32(0..100), g.u32(0..100)),
            Err(_) => (100, 100),
        };
        if throttle < throttle_percent {
            Fault::Refuse {
                status: 400,
                body: throttling_error(r),
            }
        } else if lose < lose_percent && is_write(r) {
            Fault::LoseAnswer {
                status: 503,
                body: if r.target.is_empty() {
                    query_error("ServiceUnavailable")
                } else {
                    "{\"__type\":\"ServiceUnavailable\",\"message\":\"Service Unavailable\"}".into()
                },
            }
        } else {
            Fault::Forward
        }
    })
}
