//! Post-training quantization and its error paths.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod quantize;

fn main() {
    common::harness::main(&[("errors", errors::tests), ("quantize", quantize::tests)]);
}
