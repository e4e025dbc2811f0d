//! The command line: run, inspect, bench and validate as a user calls them.

#[path = "../common/mod.rs"]
mod common;

mod bench_cli;
mod inspect_unknown;
mod mutants;
mod validate;
