//! Whole models through LiteRT's Python `load_delegate` with this crate as the
//! external delegate, at fp32 and fp16, against LiteRT without it:
//! MobileNetV3-small and EfficientNet-B0 as the TensorFlow Lite converter writes
//! `keras.applications` models with a dynamic batch (every Reshape/Flatten
//! becomes SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, a dynamic-sized tensor in
//! LiteRT; tests/data, made by tests/tools/gen_delegate_models.py), an LSTM with
//! a WHILE loop (`op_lstm` in ../shared), and a model with MediaPipe's
//! Convolution2DTransposeBias, which LiteRT alone cannot run (written here with
//! the crate's writer; a twin with TRANSPOSE_CONV and a bias gives LiteRT's
//! answer). Each run also reads the report the delegate writes (`report=PATH`)
//! and fails unless the delegate claimed the nodes the crate's own plan puts on
//! the GPU.
//!
//! The checks live in tests/python/litert_delegate_models.py. Needs a Python
//! with `ai-edge-litert` ($TFLITE_WGPU_PYTHON or `.venv/bin/python`): skipped
//! with a note when absent, except under CI=true.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tflite_wgpu::graph::op::{Activation, Conv2D, Padding, TransposeConv};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Device, Interpreter, Model, Options};

/// Longest one script run may take.
const LIMIT: Duration = Duration::from_secs(600);

fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TFLITE_WGPU_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import ai_edge_litert, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(candidate);
    }
    let msg = format!(
        "NOTE: no Python with ai-edge-litert at {} (set TFLITE_WGPU_PYTHON)",
        candidate.display()
    );
    assert!(!common::in_ci(), "{msg}");
    eprintln!("{msg}; skipping");
    None
}

/// The cdylib cargo built with the library for this test (the newer of `deps/`
/// and the directory above it).
fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps directory");
    let name = format!(
        "{}tflite_wgpu{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [deps.join(&name), deps.parent().unwrap_or(deps).join(&name)]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).and_then(|m| m.modified()).ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no {name} beside {}", exe.display()))
}

/// Deterministic values in [-scale, scale].
fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn constant(name: &str, dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> TensorInfo {
    let mut t = TensorInfo::new(name, dtype, shape);
    t.data = Some(Arc::from(bytes));
    t
}

fn floats(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// CONV_2D (3x3, relu) then a 4x4 stride-2 SAME transposed convolution with a
/// bias: as MediaPipe's Convolution2DTransposeBias (`custom`) or as LiteRT's
/// TRANSPOSE_CONV with the same weights.
fn transpose_bias_graph(custom: bool) -> Graph {
    let (ic, mc, oc, k) = (4, 6, 3, 4);
    let mut tensors = vec![
        TensorInfo::new("x", DType::F32, vec![1, 8, 8, ic]),
        constant(
            "conv_w",
            DType::F32,
            vec![mc, 3, 3, ic],
            floats(&values(mc * 9 * ic, 1, 0.4)),
        ),
        constant("conv_b", DType::F32, vec![mc], floats(&values(mc, 2, 0.1))),
        TensorInfo::new("conv_out", DType::F32, vec![1, 8, 8, mc]),
        constant(
            "up_w",
            DType::F32,
            vec![oc, k, k, mc],
            floats(&values(oc * k * k * mc, 3, 0.3)),
        ),
        constant("up_b", DType::F32, vec![oc], floats(&values(oc, 4, 0.2))),
        TensorInfo::new("y", DType::F32, vec![1, 16, 16, oc]),
    ];
    let conv = Node {
        op: Op::Conv2D(Conv2D {
            padding: Padding::Same,
            stride_w: 1,
            stride_h: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::Relu,
        }),
        inputs: vec![Some(0), Some(1), Some(2)],
        outputs: vec![3],
    };
    let p = TransposeConv {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 2,
        activation: Activation::None,
    };
    let up = if custom {
        Node {
            op: Op::TransposeConvBias(p),
            inputs: vec![Some(3), Some(4), Some(5)],
            outputs: vec![6],
        }
    } else {
        let shape: Vec<u8> = [1i32, 16, 16, oc as i32]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        tensors.push(constant("out_shape", DType::I32, vec![4], shape));
        Node {
            op: Op::TransposeConv(p),
            inputs: vec![Some(7), Some(4), Some(3), Some(5)],
            outputs: vec![6],
        }
    };
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes: vec![conv, up],
            inputs: vec![0],
            outputs: vec![6],
        }],
        ..Default::default()
    }
}

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
    let Some(py) = python() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = std::env::temp_dir().join(format!(
        "tflite-wgpu-delegate-models-{}-{fp16}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let custom = dir.join("transpose_conv_bias.tflite");
    let twin = dir.join("transpose_conv_builtin.tflite");
    for (path, is_custom) in [(&custom, true), (&twin, false)] {
        let bytes = tflite_wgpu::model::write(&transpose_bias_graph(is_custom)).expect("write");
        std::fs::write(path, bytes).unwrap();
    }
    let mut models: Vec<(String, PathBuf, Option<PathBuf>)> = vec![
        (
            "keras_mobilenet_v3_small".into(),
            data.join("keras_mobilenet_v3_small.tflite"),
            None,
        ),
        (
            "keras_efficientnet_b0".into(),
            data.join("keras_efficientnet_b0.tflite"),
            None,
        ),
        ("transpose_conv_bias".into(), custom.clone(), Some(twin)),
    ];
    match common::shared_dir() {
        Some(shared) => models.push((
            "op_lstm_while".into(),
            shared.join("models/gen/op_lstm.tflite"),
            None,
        )),
        None => eprintln!("NOTE: no ../shared: the WHILE model (op_lstm) is not run"),
    }
    let mut args: Vec<String> = vec![
        "--lib".into(),
        cdylib().display().to_string(),
        "--precision".into(),
        if fp16 { "fp16" } else { "fp32" }.into(),
    ];
    for (name, path, oracle) in &models {
        let mut spec = format!(
            "{name}={},gpu_nodes={}",
            path.display(),
            gpu_nodes(path, fp16)
        );
        if let Some(o) = oracle {
            spec.push_str(&format!(",oracle={}", o.display()));
        }
        args.push("--model".into());
        args.push(spec);
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
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "LiteRT with the delegate failed:\n{out}");
}

#[test]
fn keras_apps_while_and_custom_op_through_litert_at_fp32() {
    check(false);
}

#[test]
fn keras_apps_while_and_custom_op_through_litert_at_fp16() {
    check(true);
}
