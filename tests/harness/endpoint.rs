//! An application endpoint on loopback for the probes: answers every GET
//! with the status it is set to, or stops answering (closes connections at
//! once, as a dead load balancer's port would).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

#[derive(Debug)]
pub struct TestEndpoint {
    port: u16,
    /// The status answered; 0 = no answer.
    status: Arc<AtomicU16>,
}

impl TestEndpoint {
    /// Listens on a free 127.0.0.1 port, answering 200.
    pub fn start() -> TestEndpoint {
        Self::start_failing_first(0)
    }

    /// Answers 503 to its first `failures` requests, then 200 (a service
    /// warming up in the recovery Region).
    pub fn start_failing_first(failures: usize) -> TestEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind endpoint");
        let port = listener.local_addr().expect("endpoint addr").port();
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        let failing = Arc::new(AtomicUsize::new(failures));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let warming = failing
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let code = if warming { 503 } else { answer.load(Ordering::SeqCst) };
                if code == 0 {
                    drop(conn);
                    continue;
                }
                let mut reader = BufReader::new(match conn.try_clone() {
                    Ok(c) => c,
                    Err(_) => continue,
                });
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                    line.clear();
                }
                let mut conn = conn;
                let _ = conn.write_all(
                    format!("HTTP/1.1 {code} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
                );
            }
        });
        TestEndpoint { port, status }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Stops answering.
    pub fn go_dark(&self) {
        self.status.store(0, Ordering::SeqCst);
    }
}
