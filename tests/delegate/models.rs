//! Whole models through LiteRT's Python `load_delegate` with this crate as the
//! external delegate, at fp32 and fp16, against LiteRT without it:
//! MobileNetV3-small and EfficientNet-B0 as the TensorFlow Lite converter writes
//! `keras.applications` models with a dynamic batch (every Reshape/Flatten
//! becomes SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, a dynamic-sized tensor in
//! LiteRT; tests/data, made by tests/tools/gen_delegate_models.py), an LSTM with
//! a WHILE loop (`op_lstm` in ../shared), and a model with MediaPipe's
//! Convolution2DTransposeBias, which LiteRT alone cannot run (tests/data, from
//! the same script; its twin with TRANSPOSE_CONV and the same weights gives
//! LiteRT's answer), once on the GPU and once, with the GPU partition dropped,
//! on the delegate's reference kernels. Each run also reads the report the delegate writes (`report=PATH`)
//! and fails unless the delegate claimed the nodes the crate's own plan puts on
//! the GPU.
//!
//! The checks live in tests/python/litert_delegate_models.py. Needs a Python
//! with `ai-edge-litert` ($TFLITE_WGPU_PYTHON or `.venv/bin/python`): skipped
//! with a note when absent, except under CI=true.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tflite_wgpu::{Device, Interpreter, Model, Options};

/// Longest one script run may take.
const LIMIT: Duration = Duration::from_secs(600);

/// Prepared nodes the crate's own plan puts on the GPU for the model at `path`.
fn gpu_nodes(path: &Path, fp16: bool) -> usize {
    let model = Model::from_file(path).expect("model loads");
    let options = Options {
        device: Device::Gpu,
        precision_loss_allowed: fp16,
        ..Default::default()
    };
    let interp = Interpreter::with_options(&model, options).expect("GPU interpreter");
    let report = interp.delegate_report().expect("a GPU plan");
    report
        .plan
        .partitions
        .iter()
        .zip(&report.partition_precision)
        .filter(|(_, p)| p.is_some())
        .map(|(part, _)| part.nodes.len())
        .sum()
}

fn check(fp16: bool) {
    let Some(py) = common::litert_python() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut models: Vec<(String, PathBuf, String)> = vec![
        (
            "keras_mobilenet_v3_small".into(),
            data.join("keras_mobilenet_v3_small.tflite"),
            String::new(),
        ),
        (
            "keras_efficientnet_b0".into(),
            data.join("keras_efficientnet_b0.tflite"),
            String::new(),
        ),
        (
            "transpose_conv_bias".into(),
            data.join("transpose_conv_bias.tflite"),
            format!(
                ",oracle={}",
                data.join("transpose_conv_builtin.tflite").display()
            ),
        ),
        // The GPU partition dropped (2 nodes < 3): the custom op, which LiteRT
        // has no kernel for, runs in the delegate on the crate's reference kernels.
        (
            "transpose_conv_bias_host".into(),
            data.join("transpose_conv_bias.tflite"),
            format!(
                ",oracle={},opt_min_nodes_per_partition=3,host_custom=1",
                data.join("transpose_conv_builtin.tflite").display()
            ),
        ),
    ];
    match common::shared_dir() {
        Some(shared) => models.push((
            "op_lstm_while".into(),
            shared.join("models/gen/op_lstm.tflite"),
            String::new(),
        )),
        None => eprintln!("NOTE: no ../shared: the WHILE model (op_lstm) is not run"),
    }
    let mut args: Vec<String> = vec![
        "--lib".into(),
        common::cdylib().display().to_string(),
        "--precision".into(),
        if fp16 { "fp16" } else { "fp32" }.into(),
    ];
    for (name, path, extra) in &models {
        let gpu = if extra.contains("opt_min_nodes") {
            0
        } else {
            gpu_nodes(path, fp16)
        };
        args.push("--model".into());
        args.push(format!("{name}={},gpu_nodes={gpu}{extra}", path.display()));
    }
    if !fp16 {
        args.extend(["--resize".into(), "keras_mobilenet_v3_small".into()]);
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/litert_delegate_models.py");
    let started = Instant::now();
    let mut child = Command::new(&py)
        .arg(script)
        .args(&args)
        .env(
            "XDG_RUNTIME_DIR",
            std::env::var_os("XDG_RUNTIME_DIR").unwrap_or("/tmp".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("the delegate model check ran over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        use std::io::Read;
        let _ = s.read_to_string(&mut out);
    }
    println!("{out}");
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    assert!(status.success(), "LiteRT with the delegate failed:\n{out}");
}

fn keras_apps_while_and_custom_op_through_litert_at_fp32() {
    check(false);
}

fn keras_apps_while_and_custom_op_through_litert_at_fp16() {
    check(true);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(
            gpu_shared,
            keras_apps_while_and_custom_op_through_litert_at_fp32
        ),
        crate::case!(
            gpu_shared,
            keras_apps_while_and_custom_op_through_litert_at_fp16
        ),
    ]
}
