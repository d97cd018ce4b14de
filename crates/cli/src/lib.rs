//! The `lifeboat` operator CLI: registry management, plans, local runs of the
//! state machine, the journal, and the one-command demo.

pub mod args;
mod commands;
pub mod concurrency;
pub mod dead_letters;
pub mod demo;
pub mod emulator;
pub mod error;
pub mod estate;
pub mod fault_proxy;
pub mod local;
pub mod output;
pub mod progress;
pub mod remote;
pub mod report;
pub mod text;

use clap::Parser;

pub use args::{ActionArg, Cli, ClockArg, Command, LeaseCommand, OutputFormat, RegistryCommand, TriggersCommand};
pub use error::{CliError, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED};
pub use output::{exit_code, follow_up_of, print_execution, print_json, print_remote, run_record, write_html_report};

/// Parses arguments, runs the command, returns the exit code.
pub async fn main_with_args(args: impl IntoIterator<Item = String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
        }
    };
    match commands::run_command(&cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    }
}
