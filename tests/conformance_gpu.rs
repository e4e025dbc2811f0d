//! Every golden model through the GPU delegate (unsupported nodes on the CPU):
//! fp32 within DESIGN.md's fp32 tolerance, fp16 within the fp16 tolerance.

mod common;

use common::Precision;
use tflite_wgpu::{Device, Options};

fn run_all(fp16: bool) {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let cases = common::goldens(&shared);
    let mut failures = Vec::new();
    for case in &cases {
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            ..Default::default()
        };
        let precision = if fp16 {
            Precision::Fp16
        } else {
            Precision::Fp32
        };
        match common::run_with(case, options, precision) {
            Ok(worst) => println!("ok   {} (max |d| {:?})", case.name, worst),
            Err(e) => {
                println!("FAIL {}: {e}", case.name);
                failures.push(format!("{}: {e}", case.name));
            }
        }
    }
    println!(
        "{} of {} golden models pass on the GPU at {}",
        cases.len() - failures.len(),
        cases.len(),
        if fp16 { "fp16" } else { "fp32" }
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn gpu_fp32_matches_litert_goldens() {
    run_all(false);
}

#[test]
fn gpu_fp16_matches_litert_goldens() {
    run_all(true);
}
