//! GPU kernels and the GPU runtime, each checked against the CPU reference kernels (lavapipe in CI).

#[path = "../common/mod.rs"]
mod common;

mod conv;
mod faults;
mod fusion;
mod int8;
mod kernels_random;
mod layout;
mod lean_invoke;
mod logic;
mod mediapipe_ops;
mod ops;
mod overflow_guard;
mod pipeline_cache;
mod plan;
mod precision_plan;
mod profile;
mod reduce;
mod split_k;
mod threads;
