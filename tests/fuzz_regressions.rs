//! Inputs the fuzzers (fuzz/) found, kept so the fixes stay fixed. Each runs the
//! same steps as its fuzz target and must end in a typed error or a valid result,
//! quickly.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tflite_wgpu::cpu::RunLimits;
use tflite_wgpu::model::LoadOptions;
use tflite_wgpu::{npy, Interpreter, Model, Options, Tensor};

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    std::fs::read(path).unwrap()
}

/// What the `model_run` fuzz target does: load, prepare, invoke on zeros.
fn load_and_run(bytes: &[u8]) -> Duration {
    let start = Instant::now();
    let load = LoadOptions {
        max_tensor_bytes: 16 << 20,
        max_total_bytes: 64 << 20,
        ..Default::default()
    };
    let Ok(model) = Model::from_bytes_with(bytes, &load) else {
        return start.elapsed();
    };
    let options = Options {
        limits: RunLimits {
            max_while_iterations: 1000,
            max_tensor_bytes: 16 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let Ok(mut interp) = Interpreter::with_options(&model, options) else {
        return start.elapsed();
    };
    for i in 0..interp.num_inputs() {
        let info = interp.input_info(i).unwrap();
        let t = Tensor::zeros(info.dtype, info.shape.clone()).unwrap();
        let _ = interp.set_input(i, t);
    }
    let _ = interp.invoke();
    start.elapsed()
}

/// A descr whose first character is multi-byte UTF-8 split the string inside it.
#[test]
fn npy_descr_starting_with_a_multibyte_character() {
    let err = npy::parse(&data("npy_multibyte_descr.npy"), "x.npy").unwrap_err();
    assert!(err.to_string().contains("unsupported dtype"), "{err}");
}

/// A TILE whose output is near the tensor limit: bounded time, not a hang.
#[test]
fn model_run_large_tile_is_bounded() {
    let took = load_and_run(&data("model_run_tile_slow.tflite"));
    println!("took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
