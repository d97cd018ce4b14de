//! A fault-injecting HTTP proxy in front of moto: answers the first N
//! matching requests with a canned AWS error (e.g. Route 53 throttling, which
//! moto never produces) and forwards everything else unchanged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Route 53's throttling error, as its REST-XML protocol sends it.
pub const ROUTE53_THROTTLING: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>lifeboat-fault-proxy</RequestId></ErrorResponse>";

type Matcher = fn(&str, &str) -> bool;

/// Matches Route 53 ChangeResourceRecordSets (`POST .../hostedzone/{id}/rrset`).
pub fn change_resource_record_sets(method: &str, path: &str) -> bool {
    method == "POST" && path.contains("/hostedzone/") && path.trim_end_matches('/').ends_with("/rrset")
}

#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    injected: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port; fails the first `failures` requests `matcher` accepts.
    pub fn start(upstream_port: u16, matcher: Matcher, failures: usize, status: u16, body: &'static str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let remaining = Arc::new(AtomicUsize::new(failures));
        let injected = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (inj, fwd) = (injected.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (remaining, inj, fwd) = (remaining.clone(), inj.clone(), fwd.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, upstream_port, matcher, &remaining, &inj, &fwd, status, body);
                });
            }
        });
        FaultProxy {
            port,
            injected,
            forwarded,
        }
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
}

#[allow(clippy::too_many_arguments)]
fn handle(
    client: TcpStream,
    upstream_port: u16,
    matcher: Matcher,
    remaining: &AtomicUsize,
    injected: &AtomicUsize,
    forwarded: &AtomicUsize,
    status: u16,
    body: &str,
) -> std::io::Result<()> {
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
    let take = matcher(method, path)
        && remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
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
