//! The state machine, declared once in typed Rust.
//!
//! `statemachine/lifeboat.asl.json` (what SAM deploys, and what the CLI
//! builds in) is this crate's output: `make asl` writes it, and a test fails
//! while the committed file differs. Retry policies are declared once by
//! name ([`policy`]), timings come from `lifeboat_core::timing` (which the
//! plan's time budget reads too), and each state is one of the definition's
//! own types, so what is written is what the executor loads.

pub mod fields;
pub mod lifeboat;
pub mod model;
pub mod policy;

/// The definition as the committed file holds it: two-space indents, a
/// newline at the end.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&lifeboat::definition())
        .unwrap_or_else(|e| unreachable!("the definition is plain JSON: {e}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
