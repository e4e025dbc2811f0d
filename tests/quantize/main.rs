//! Post-training quantization and its error paths.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod constraints;
mod errors;
mod int16;
mod litert;
mod quantize;
mod recipe_check;
mod recipes;

fn main() {
    common::harness::main_checked(&[
        ("constraints", constraints::tests),
        ("errors", errors::tests),
        ("int16", int16::tests),
        ("litert", litert::tests),
        ("quantize", quantize::tests),
        ("recipes", recipes::tests),
    ]);
}
