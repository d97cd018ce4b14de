//! A fault-injecting HTTP proxy in front of the emulator (tests and the
//! demo's "us-east-1 goes dark" chapter; loopback only): answers the first N
//! matching requests with a canned AWS error (e.g. Route 53 throttling, which
//! moto never produces, or a whole Region gone dark) and forwards everything
//! else unchanged. It counts requests by the service and Region they are
//! signed for.

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
    /// The request body, as text.
    pub body: &'a str,
}

type Matcher = fn(&Seen) -> bool;

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
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let remaining = Arc::new(AtomicUsize::new(failures));
        let injected = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let by_scope = Arc::new(Mutex::new(BTreeMap::new()));
        let (inj, fwd, scopes) = (injected.clone(), forwarded.clone(), by_scope.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (remaining, inj, fwd, scopes) = (remaining.clone(), inj.clone(), fwd.clone(), scopes.clone());
                std::thread::spawn(move || {
                    let counters = Counters {
                        remaining: &remaining,
                        injected: &inj,
                        forwarded: &fwd,
                        by_scope: &scopes,
                    };
                    let _ = handle(conn, upstream_port, matcher, counters, status, body);
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
    remaining: &'a AtomicUsize,
    injected: &'a AtomicUsize,
    forwarded: &'a AtomicUsize,
    by_scope: &'a Mutex<BTreeMap<String, Counts>>,
}

fn handle(
    client: TcpStream,
    upstream_port: u16,
    matcher: Matcher,
    counters: Counters,
    status: u16,
    body: &str,
) -> std::io::Result<()> {
    let Counters {
        remaining,
        injected,
        forwarded,
        by_scope,
    } = counters;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
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
        body: &body_text,
    };
    let take = matcher(&seen)
        && remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if let Ok(mut m) = by_scope.lock() {
        let c = m.entry(format!("{service}@{region}")).or_default();
        if take {
            c.refused += 1;
        } else {
            c.forwarded += 1;
        }
    }
    if take {
        injected.fetch_add(1, Ordering::SeqCst);
        let resp = format!(
            "HTTP/1.1 {status} Error\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return client.write_all(resp.as_bytes());
    }
    forwarded.fetch_add(1, Ordering::SeqCst);
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    let mut out = head.concat();
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    upstream.write_all(&req_body)?;
    let mut resp = Vec::new();
    upstream.read_to_end(&mut resp)?;
    client.write_all(&resp)
}
