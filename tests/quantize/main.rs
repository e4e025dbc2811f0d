//! Post-training quantization and its error paths.

#[path = "../common/mod.rs"]
mod common;

mod constraints;
mod errors;
mod litert;
mod quantize;
mod recipe_check;
mod recipes;

fn main() {
    common::harness::main_checked(&[
        ("constraints", constraints::tests),
        ("errors", errors::tests),
        ("litert", litert::tests),
        ("quantize", quantize::tests),
        ("recipes", recipes::tests),
    ]);
}
