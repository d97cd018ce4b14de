//! `lifeboat`: the operator CLI. Everything lives in the library.

#[tokio::main]
async fn main() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        // Colour for a person at a terminal; plain text for a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let code = lifeboat::main_with_args(std::env::args()).await;
    std::process::exit(code);
}
