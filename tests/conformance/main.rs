//! Conformance to LiteRT's goldens on the CPU and the GPU, and model-level CPU kernels.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod conformance;
mod cpu_lstm;
mod detection;
mod gpu;

fn main() {
    common::harness::main_checked(&[
        ("conformance", conformance::tests),
        ("cpu_lstm", cpu_lstm::tests),
        ("detection", detection::tests),
        ("gpu", gpu::tests),
    ]);
}
