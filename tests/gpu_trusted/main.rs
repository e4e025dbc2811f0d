//! The trusted (unchecked) shader modules, in a process of their own.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod kernels;
mod reductions;

fn main() {
    common::harness::main(&[
        ("kernels", kernels::tests),
        ("reductions", reductions::tests),
    ]);
}
