//! Post-training quantization and its error paths.

#[path = "../common/mod.rs"]
mod common;

mod constraints;
mod errors;
mod int16;
mod litert;
mod quantize;

fn main() {
    common::harness::main_checked(&[
        ("constraints", constraints::tests),
        ("errors", errors::tests),
        ("int16", int16::tests),
        ("litert", litert::tests),
        ("quantize", quantize::tests),
    ]);
}
