//! The local AWS emulator: moto server (found or installed as
//! [`discovery`] says), on a free 127.0.0.1 port, stopped when dropped.
//! Loopback only, always.
//!
//! moto runs with lifeboat's extensions (the `emulator/lifeboat_emulator`
//! package, one module per service, built into this binary and written to a
//! temporary directory at start): what moto 5.2.5 lacks for a failover
//! (Aurora global switchover/failover, replica promotion, replicated backups,
//! capacity that takes a while to come into service,
//! Route 53 ARC routing controls, RECOVERY_CONTROL health checks,
//! TestDNSAnswer) and atomic DynamoDB conditional writes.

pub mod discovery;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{0}")]
    NotInstalled(String),
    #[error("could not start moto server: {0}")]
    Start(String),
    #[error("moto server on {0} did not answer within 30s")]
    NotReady(String),
    #[error("moto API call failed: {0}")]
    Api(String),
}

/// The extension package's modules, by file name.
const EXTENSION: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../../emulator/lifeboat_emulator/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../../../emulator/lifeboat_emulator/__main__.py"),
    ),
    ("arc.py", include_str!("../../../../emulator/lifeboat_emulator/arc.py")),
    (
        "autoscaling.py",
        include_str!("../../../../emulator/lifeboat_emulator/autoscaling.py"),
    ),
    (
        "awslambda.py",
        include_str!("../../../../emulator/lifeboat_emulator/awslambda.py"),
    ),
    ("ecs.py", include_str!("../../../../emulator/lifeboat_emulator/ecs.py")),
    (
        "cloudwatch.py",
        include_str!("../../../../emulator/lifeboat_emulator/cloudwatch.py"),
    ),
    (
        "docdb.py",
        include_str!("../../../../emulator/lifeboat_emulator/docdb.py"),
    ),
    (
        "dynamodb.py",
        include_str!("../../../../emulator/lifeboat_emulator/dynamodb.py"),
    ),
    (
        "globaltables.py",
        include_str!("../../../../emulator/lifeboat_emulator/globaltables.py"),
    ),
    (
        "quotas.py",
        include_str!("../../../../emulator/lifeboat_emulator/quotas.py"),
    ),
    ("rds.py", include_str!("../../../../emulator/lifeboat_emulator/rds.py")),
    (
        "route53.py",
        include_str!("../../../../emulator/lifeboat_emulator/route53.py"),
    ),
    (
        "stepfunctions.py",
        include_str!("../../../../emulator/lifeboat_emulator/stepfunctions.py"),
    ),
    ("sts.py", include_str!("../../../../emulator/lifeboat_emulator/sts.py")),
];

/// Writes the extension package under a fresh temporary directory; returns it.
fn write_extension(port: u16) -> Result<PathBuf, EmulatorError> {
    let root = std::env::temp_dir().join(format!("lifeboat-emulator-{}-{port}", std::process::id()));
    let package = root.join("lifeboat_emulator");
    std::fs::create_dir_all(&package)
        .map_err(|e| EmulatorError::Start(format!("cannot create {}: {e}", package.display())))?;
    for (name, text) in EXTENSION {
        std::fs::write(package.join(name), text)
            .map_err(|e| EmulatorError::Start(format!("cannot write {}: {e}", package.join(name).display())))?;
    }
    Ok(root)
}

/// A running moto server.
#[derive(Debug)]
pub struct MotoServer {
    /// The watchdog shell that owns moto (see [`MotoServer::start`]).
    child: Child,
    port: u16,
    /// Where the extension package was written (removed on drop).
    extension_dir: PathBuf,
}

/// The moto_server to run, installing it once into the user's cache when
/// none is found (announced on stderr): see [`discovery`].
pub fn moto_server() -> Result<PathBuf, EmulatorError> {
    discovery::Discovery::from_env()
        .locate_or_install(&mut |line| eprintln!("{line}"))
        .map(|found| found.server)
}

fn free_port() -> Result<u16, EmulatorError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| EmulatorError::Start(format!("no free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| EmulatorError::Start(e.to_string()))
}

/// The access key whose requests the emulator's quota mode lets through:
/// what a test or the demo does to build its estate is not what lifeboat
/// does on the day (emulator/lifeboat_emulator/quotas.py).
pub const SETUP_ACCESS_KEY: &str = "setup";

impl MotoServer {
    /// Starts moto on a free loopback port, throttling as AWS's documented
    /// rate quotas do, and waits until it answers.
    pub fn start(binary: &Path) -> Result<MotoServer, EmulatorError> {
        Self::start_on(binary, "127.0.0.1", None, true)
    }

    /// Starts moto on `host` (always a loopback address here) and `port`
    /// (a free one when `None`), with AWS's rate quotas or without.
    pub fn start_on(binary: &Path, host: &str, port: Option<u16>, quotas: bool) -> Result<MotoServer, EmulatorError> {
        if !binary.is_file() {
            return Err(EmulatorError::NotInstalled(format!(
                "moto server not found at {}: set LIFEBOAT_MOTO_SERVER to a moto_server script, or unset it to let lifeboat find or install one",
                binary.display()
            )));
        }
        let python = discovery::interpreter_of(binary);
        if !python.is_file() {
            return Err(EmulatorError::NotInstalled(format!(
                "{} names the Python {}, which does not exist: reinstall moto ({}) or set LIFEBOAT_MOTO_SERVER",
                binary.display(),
                python.display(),
                discovery::MOTO_REQUIREMENT
            )));
        }
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let extension_dir = write_extension(port)?;
        // A watchdog shell owns moto: it stops moto when told to (TERM) and also
        // when this process dies without dropping us (Ctrl-C, a test binary's
        // exit with the server in a static), so no emulator outlives its user.
        let script = format!(
            "LIFEBOAT_EMULATOR_QUOTAS={quotas} PYTHONPATH=\"$1\" \"$0\" -m lifeboat_emulator -H {host} -p {port} 2>\"$1/moto.err\" & moto=$!; \
             trap 'kill $moto 2>/dev/null; exit 0' TERM INT HUP; \
             while kill -0 {parent} 2>/dev/null && kill -0 $moto 2>/dev/null; do sleep 0.5; done; \
             kill $moto 2>/dev/null",
            parent = std::process::id(),
            quotas = if quotas { "on" } else { "off" }
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&python)
            .arg(&extension_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| EmulatorError::Start(format!("{}: {e}", binary.display())))?;
        let mut server = MotoServer {
            child,
            port,
            extension_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let err = std::fs::read_to_string(server.extension_dir.join("moto.err")).unwrap_or_default();
                let tail: Vec<&str> = err.lines().rev().take(3).collect();
                return Err(EmulatorError::Start(format!(
                    "moto server ({}) exited at start ({status}): {}",
                    python.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )));
            }
            if server.request("GET", "/moto-api/", "").is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(EmulatorError::NotReady(server.endpoint()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Forgets every resource (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), EmulatorError> {
        self.request("POST", "/moto-api/reset", "").map(|_| ())
    }

    /// One plain HTTP/1.1 request to moto's own API; returns the body.
    pub fn request(&self, method: &str, path: &str, body: &str) -> Result<String, EmulatorError> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| EmulatorError::Api(e.to_string()))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| EmulatorError::Api(e.to_string()))?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes())
            .map_err(|e| EmulatorError::Api(e.to_string()))?;
        let mut resp = String::new();
        s.read_to_string(&mut resp)
            .map_err(|e| EmulatorError::Api(e.to_string()))?;
        let status_ok = resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200");
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        if status_ok {
            Ok(body)
        } else {
            Err(EmulatorError::Api(resp.lines().next().unwrap_or("").to_string()))
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // TERM lets the watchdog stop moto; SIGKILL would orphan it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.extension_dir);
    }
}

/// An SDK config for the emulator: loopback endpoint, dummy static
/// credentials and an explicit Region, so nothing probes instance metadata.
pub async fn emulator_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    config_with_key(endpoint, region, "test").await
}

/// The same, signed with [`SETUP_ACCESS_KEY`]: for building an estate and
/// looking at it, which the emulator's quotas leave alone.
pub async fn emulator_setup_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    config_with_key(endpoint, region, SETUP_ACCESS_KEY).await
}

async fn config_with_key(endpoint: &str, region: &str, key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            key,
            "test",
            None,
            None,
            "lifeboat-emulator",
        ))
        .load()
        .await
}
