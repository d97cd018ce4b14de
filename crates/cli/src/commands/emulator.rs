//! `lifeboat emulator`: the sandbox's emulator, served in the foreground.

use lifeboat_sandbox::emulator::{MotoServer, SETUP_ACCESS_KEY, moto_server};
use std::time::Duration;

/// `lifeboat emulator`: starts the emulator on loopback and serves until
/// Ctrl-C (the watchdog stops moto when this process ends). With JSON
/// output, its endpoint and environment are one line, for scripts.
pub fn serve_foreground(port: Option<u16>, quotas: bool, format: crate::OutputFormat) -> Result<i32, crate::CliError> {
    let server = moto_server()
        .and_then(|binary| MotoServer::start_on(&binary, "127.0.0.1", port, quotas))
        .map_err(|e| crate::CliError::failed(e.to_string()))?;
    let env = [
        ("AWS_ENDPOINT_URL", server.endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-west-2".to_string()),
        ("AWS_DEFAULT_REGION", "us-west-2".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    match format {
        crate::OutputFormat::Json => {
            let env: serde_json::Map<String, serde_json::Value> =
                env.iter().map(|(k, v)| (k.to_string(), v.clone().into())).collect();
            crate::outln!(
                "{}",
                serde_json::json!({"endpoint": server.endpoint(), "quotas": quotas, "env": env})
            );
        }
        crate::OutputFormat::Text => {
            crate::outln!(
                "lifeboat emulator (moto server with lifeboat's extensions) on {}",
                server.endpoint()
            );
            if quotas {
                crate::outln!(
                    "  throttling as AWS's documented rate quotas do (--no-quotas: never); requests signed with the access key \"{SETUP_ACCESS_KEY}\" are exempt"
                );
            }
            let exports: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            crate::outln!("  export {}", exports.join(" "));
            crate::outln!(
                "  ARC clusters it creates list their five regional endpoints on this port; Ctrl-C stops it."
            );
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
