//! Inputs the fuzzers (fuzz/) found, kept so the fixes stay fixed. Each runs the
//! same steps as its fuzz target and must end in a typed error or a valid result,
//! quickly.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tflite_wgpu::model::LoadOptions;
use tflite_wgpu::RunLimits;
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
fn npy_descr_starting_with_a_multibyte_character() {
    let err = npy::parse(&data("npy_multibyte_descr.npy"), "x.npy").unwrap_err();
    assert!(err.to_string().contains("unsupported dtype"), "{err}");
}

/// Inputs that timed out under the fuzzer (a sanitized build on a loaded machine):
/// TILE and other kernels with outputs near the 16 MiB tensor limit. In a normal
/// build each must finish well within a few seconds.
fn model_run_inputs_that_timed_out_are_bounded() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("model_run_"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let took = load_and_run(&data(&name));
        println!("{name}: {took:?}");
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, npy_descr_starting_with_a_multibyte_character),
        crate::case!(plain, model_run_inputs_that_timed_out_are_bounded),
    ]
}
