//! Untrusted input, limits, fuzz regressions, the crate's layering and where
//! its WGSL lives.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod fuzz_regressions;
mod int4;
mod layering;
mod limits;
mod malformed;
mod mutation;
mod reader_forms;
mod wgsl_placement;

fn main() {
    common::harness::main_checked(&[
        ("fuzz_regressions", fuzz_regressions::tests),
        ("int4", int4::tests),
        ("layering", layering::tests),
        ("limits", limits::tests),
        ("malformed", malformed::tests),
        ("mutation", mutation::tests),
        ("reader_forms", reader_forms::tests),
        ("wgsl_placement", wgsl_placement::tests),
    ]);
}
