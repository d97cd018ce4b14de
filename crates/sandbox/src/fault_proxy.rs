//! A fault-injecting HTTP proxy in front of the emulator (tests and the
//! demo's "us-east-1 goes dark" chapter; loopback only): answers the first N
//! matching requests with a canned AWS error (e.g. a whole Region gone dark)
//! and forwards everything else unchanged; or, with a [`Rule`], decides each
//! request: forward it, refuse it, or forward it and answer a 5xx as if the
//! answer had been lost after AWS applied it ([`storm`]). It counts requests
//! by the service and Region they are signed for.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
fn credential_scope(head: &[String]) -> (String, String) {
    let auth = head
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .cloned()
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

#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    injected: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    by_scope: Arc<Mutex<BTreeMap<String, Counts>>>,
}

/// Requests of one `service@region`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub forwarded: usize,
    pub refused: usize,
}

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
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let injected = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let by_scope = Arc::new(Mutex::new(BTreeMap::new()));
        let (inj, fwd, scopes) = (injected.clone(), forwarded.clone(), by_scope.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (rule, inj, fwd, scopes) = (rule.clone(), inj.clone(), fwd.clone(), scopes.clone());
                std::thread::spawn(move || {
                    let counters = Counters {
                        injected: &inj,
                        forwarded: &fwd,
                        by_scope: &scopes,
                    };
                    let _ = handle(conn, upstream_port, &rule, counters);
                });
            }
        });
        Ok(FaultProxy {
            port,
            injected,
            forwarded,
            by_scope,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// How many requests got the canned error.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
    /// Requests by `service@region` of their signature.
    pub fn by_scope(&self) -> BTreeMap<String, Counts> {
        self.by_scope.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

struct Counters<'a> {
    injected: &'a AtomicUsize,
    forwarded: &'a AtomicUsize,
    by_scope: &'a Mutex<BTreeMap<String, Counts>>,
}

fn handle(client: TcpStream, upstream_port: u16, rule: &Rule, counters: Counters) -> std::io::Result<()> {
    let Counters {
        injected,
        forwarded,
        by_scope,
    } = counters;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            target = line
                .split_once(':')
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
        }
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut req_body = vec![0u8; content_length];
    reader.read_exact(&mut req_body)?;
    let request_line = head.first().cloned().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    let (service, region) = credential_scope(&head);
    let body_text = String::from_utf8_lossy(&req_body);
    let seen = Seen {
        method,
        path,
        service: &service,
        region: &region,
        target: &target,
        body: &body_text,
    };
    let fault = rule(&seen);
    if let Ok(mut m) = by_scope.lock() {
        let c = m.entry(format!("{service}@{region}")).or_default();
        if matches!(fault, Fault::Forward) {
            c.forwarded += 1;
        } else {
            c.refused += 1;
        }
    }
    let answer = |client: &mut TcpStream, status: u16, body: &str| {
        // The error in the protocol the request spoke (JSON or XML).
        let content_type = if body.starts_with('{') {
            "application/x-amz-json-1.0"
        } else {
            "text/xml"
        };
        let resp = format!(
            "HTTP/1.1 {status} Error\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(resp.as_bytes())
    };
    let forward = |req_body: &[u8]| -> std::io::Result<Vec<u8>> {
        let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
        let mut out = head.concat();
        out.push_str("Connection: close\r\n\r\n");
        upstream.write_all(out.as_bytes())?;
        upstream.write_all(req_body)?;
        let mut resp = Vec::new();
        upstream.read_to_end(&mut resp)?;
        Ok(resp)
    };
    match fault {
        Fault::Refuse { status, body } => {
            injected.fetch_add(1, Ordering::SeqCst);
            answer(&mut client, status, &body)
        }
        Fault::LoseAnswer { status, body } => {
            injected.fetch_add(1, Ordering::SeqCst);
            forward(&req_body)?;
            answer(&mut client, status, &body)
        }
        Fault::Forward => {
            forwarded.fetch_add(1, Ordering::SeqCst);
            let resp = forward(&req_body)?;
            client.write_all(&resp)
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
