//! The real LiteRT interpreter loads what the crate's writer produces and computes
//! the same outputs as the CPU interpreter.
//!
//! Needs a Python with `ai-edge-litert`: $TFLITE_WGPU_PYTHON, or `.venv/bin/python`
//! in the crate (which `.ci/run` creates). Skipped with a note when absent, except in
//! CI (CI=true), where its absence is a failure.

use crate::common;
use std::process::Command;
use tflite_wgpu::{demo, npy, Interpreter, Model};

const SCRIPT: &str = r#"
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
model, inp, out = sys.argv[1:4]
it = Interpreter(model_path=model,
                 experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
it.set_tensor(it.get_input_details()[0]['index'], np.load(inp))
it.invoke()
np.save(out, it.get_tensor(it.get_output_details()[0]['index']))
"#;

fn litert_runs_the_written_demo_model_like_the_cpu_interpreter() {
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("demo.tflite");
    let bytes = demo::demo_model_bytes().unwrap();
    std::fs::write(&model_path, &bytes).unwrap();
    let input = demo::demo_input();
    npy::write(dir.join("in.npy"), &input).unwrap();
    let status = Command::new(&py)
        .args(["-c", SCRIPT])
        .arg(&model_path)
        .arg(dir.join("in.npy"))
        .arg(dir.join("out.npy"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "LiteRT failed to load or run the written model"
    );
    let want = npy::read(dir.join("out.npy")).unwrap();

    let model = Model::from_bytes(&bytes).unwrap();
    let mut interp = Interpreter::new(&model).unwrap();
    interp.set_input(0, input).unwrap();
    interp.invoke().unwrap();
    let got = interp.output(0).unwrap();
    assert_eq!(got.shape, want.shape);
    for (a, b) in got.as_f32().unwrap().iter().zip(want.as_f32().unwrap()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(
        plain,
        litert_runs_the_written_demo_model_like_the_cpu_interpreter
    )]
}
