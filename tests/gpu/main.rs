//! GPU kernels and the GPU runtime, each checked against the CPU reference kernels (lavapipe in CI).

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod conv;
mod faults;
mod fusion;
mod int8;
mod kernels_random;
mod layout;
mod lean_invoke;
mod logic;
mod mediapipe_ops;
mod occupancy;
mod ops;
mod overflow_guard;
mod pipeline_cache;
mod plan;
mod precision_plan;
mod profile;
mod reduce;
mod split_k;
mod threads;

fn main() {
    common::harness::main_checked(&[
        ("conv", conv::tests),
        ("faults", faults::tests),
        ("fusion", fusion::tests),
        ("int8", int8::tests),
        ("kernels_random", kernels_random::tests),
        ("layout", layout::tests),
        ("lean_invoke", lean_invoke::tests),
        ("logic", logic::tests),
        ("mediapipe_ops", mediapipe_ops::tests),
        ("occupancy", occupancy::tests),
        ("ops", ops::tests),
        ("overflow_guard", overflow_guard::tests),
        ("overflow_guard::families", overflow_guard::families::tests),
        ("overflow_guard::palm", overflow_guard::palm::tests),
        ("pipeline_cache", pipeline_cache::tests),
        ("plan", plan::tests),
        ("precision_plan", precision_plan::tests),
        ("profile", profile::tests),
        ("reduce", reduce::tests),
        ("split_k", split_k::tests),
        ("threads", threads::tests),
    ]);
}
