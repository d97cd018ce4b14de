//! What lifeboat shows an operator, and runs for one: the state machine on
//! the embedded executor ([`local`]), its progress lines, the terminal
//! tables and texts, a run's record and its HTML report, the exit codes.
//! The operator CLI (crates/cli) and the demo (crates/sandbox) both use it.

pub mod concurrency;
pub mod error;
pub mod local;
pub mod output;
pub mod progress;
pub mod remote;
pub mod report;
pub mod table;
pub mod text;

pub use error::{CliError, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED};
pub use output::{
    OutputFormat, exit_code, follow_up_of, print_execution, print_json, print_remote, run_record, write_html_report,
};
