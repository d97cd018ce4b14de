//! The end-to-end tests: one test binary, so the workspace and the AWS SDKs
//! are linked once for them all rather than once per file (minutes on 2
//! cores). Each module is one area; nextest runs every test in its own process.

mod accounts;
mod adapters;
mod approval;
mod burst;
mod capacity;
mod cli;
mod conformance;
mod dark_region;
mod databases;
mod docdb;
mod hooks;
mod infra;
mod malformed;
mod readiness;
mod report;
mod routing_controls;
mod storm;
mod triggers;
mod two_regions;
mod workflow;
