//! The trusted (unchecked) shader modules, in a process of their own.

#[path = "../common/mod.rs"]
mod common;

mod kernels;
mod reductions;

fn main() {
    common::harness::main(&[
        ("kernels", kernels::tests),
        ("reductions", reductions::tests),
    ]);
}
