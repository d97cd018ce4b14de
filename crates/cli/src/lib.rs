//! The `lifeboat` operator CLI: its verbs (registry management, plans, runs,
//! the journal, triggers, readiness, the emulator and the demo) over
//! lifeboat-console (what they show, the local runner) and lifeboat-sandbox
//! (the emulator, the sample estate and the demo).

pub mod args;
mod commands;
pub mod dead_letters;

// What an operator sees and the local runner live in lifeboat-console (the
// demo in lifeboat-sandbox uses them too); their paths stay ours.
pub use lifeboat_console::{concurrency, error, local, out, outln, output, progress, remote, report, table, text};

use clap::Parser;

pub use args::{
    ActionArg, Cli, ClockArg, Command, LeaseCommand, OutputFormat, RegistryCommand, SampleCommand, Tables,
    TriggersCommand,
};
pub use error::{CliError, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED};
pub use output::{exit_code, follow_up_of, print_execution, print_json, print_remote, run_record, write_html_report};

/// Parses arguments, runs the command, returns the exit code.
pub async fn main_with_args(args: impl IntoIterator<Item = String>) -> i32 {
    let args: Vec<String> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                let _ = e.print();
                return EXIT_OK;
            }
            // The usage error as JSON when JSON was asked for, plain otherwise.
            if asks_for_json(&args) {
                print_error_json(EXIT_BAD_INPUT, e.render().to_string().trim());
            } else {
                let _ = e.print();
            }
            return EXIT_BAD_INPUT;
        }
    };
    match commands::run_command(&cli).await {
        Ok(code) => code,
        Err(e) => {
            match cli.output {
                OutputFormat::Json => print_error_json(e.code, &e.message),
                OutputFormat::Text => eprintln!("error: {}", e.message),
            }
            e.code
        }
    }
}

/// `--output json` (or `--output=json`) among arguments clap refused.
fn asks_for_json(args: &[String]) -> bool {
    args.iter().any(|a| a == "--output=json") || args.windows(2).any(|w| w[0] == "--output" && w[1] == "json")
}

/// An error as `--output json` prints it: on standard output, where a script
/// reads the result, and its message on standard error for a person.
fn print_error_json(code: i32, message: &str) {
    print_json(&serde_json::json!({"error": {"exit_code": code, "message": message}}));
    eprintln!("error: {message}");
}
