//! `lifeboat`: the operator CLI. Everything lives in the library.

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let code = lifeboat::main_with_args(std::env::args()).await;
    std::process::exit(code);
}
