//! Untrusted input, limits, fuzz regressions and the crate's layering.

#[path = "../common/mod.rs"]
mod common;

mod fuzz_regressions;
mod layering;
mod limits;
mod malformed;
mod mutation;
mod reader_forms;
