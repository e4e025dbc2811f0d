//! `quantize --mode int16x8` (LiteRT's 16x8 scheme: int16 activations with zero
//! point 0, per-channel int8 weights, int64 biases), checked in LiteRT:
//! - MobileNetV2 0.35-128 runs in LiteRT with more than 10 int16 tensors at a
//!   cosine of at least 0.99 to the float model on the golden photo, within 0.005
//!   of the converter's own 16x8 form calibrated on the same samples, within 10% of
//!   its size and with the same tensor types; its operator versions are the int16
//!   ones and its ADDs take the general int16 kernel;
//! - the CPU interpreter writes every integer tensor of it, and of single-op
//!   models quantized the same way, within one level of LiteRT's reference
//!   kernels;
//! - on the GPU the int16 nodes run, or stay on the CPU with a reason that says
//!   int16, and the output equals the CPU's.
//!
//! The LiteRT runs go through tests/python/int16_litert_check.py, one Python
//! process per test.

use crate::common;
use crate::common::gpu::{one_node, Arg};

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tflite_wgpu::graph::op::{Activation, Conv2D, Padding};
use tflite_wgpu::graph::Op;
use tflite_wgpu::quantize::{self, Calibration, Mode, QuantizeOptions};
use tflite_wgpu::{model, npy, validate, Data, Device, Graph, Interpreter, Model, Tensor};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-int16-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run the LiteRT checks of `cases`; each case's result by name.
fn litert(py: &Path, cases: &[Value], dir: &Path) -> HashMap<String, Value> {
    let list = dir.join("cases.json");
    std::fs::write(&list, serde_json::to_vec(cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/int16_litert_check.py");
    let run = Command::new(py).arg(&script).arg(&list).output().unwrap();
    let mut out = HashMap::new();
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        out.insert(v["name"].as_str().unwrap().to_string(), v);
    }
    assert!(
        run.status.success() && out.len() == cases.len(),
        "the LiteRT checks stopped after {} of {} cases ({}):\n{}",
        out.len(),
        cases.len(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Every tensor a node of `model` writes on the CPU interpreter for `inputs`,
/// by tensor index, with the tensors' names.
fn cpu_tensors(model: &Path, inputs: &[Tensor]) -> HashMap<usize, (String, Tensor)> {
    let m = Model::from_file(model).unwrap();
    let options = tflite_wgpu::Options {
        device: Device::Cpu,
        ..Default::default()
    };
    let mut it = Interpreter::with_options(&m, options).unwrap();
    for (i, x) in inputs.iter().enumerate() {
        it.set_input(i, x.clone()).unwrap();
    }
    let graph = it.graph().clone();
    let sg = graph.main();
    let mut seen = HashMap::new();
    let mut observe = |n: usize, outs: &[Tensor]| {
        for (&t, v) in sg.nodes[n].outputs.iter().zip(outs) {
            seen.insert(t, (sg.tensors[t].name.clone(), v.clone()));
        }
    };
    it.invoke_observed(Some(&mut observe)).unwrap();
    seen
}

/// The largest difference in levels between the CPU interpreter's tensors and the
/// integer tensors LiteRT wrote into `dump` (`tensors`: index -> name); panics on
/// one the CPU did not write or that differs in name or shape.
fn max_level_diff(
    name: &str,
    ours: &HashMap<usize, (String, Tensor)>,
    tensors: &serde_json::Map<String, Value>,
    dump: &Path,
) -> i64 {
    let mut worst = 0;
    for (index, tensor_name) in tensors {
        let t: usize = index.parse().unwrap();
        let theirs = npy::read(dump.join(format!("t{t}.npy"))).unwrap();
        let (our_name, mine) = ours
            .get(&t)
            .unwrap_or_else(|| panic!("{name}: the CPU wrote no tensor {t} ({tensor_name})"));
        assert_eq!(
            Some(our_name.as_str()),
            tensor_name.as_str(),
            "{name}: tensor {t}"
        );
        assert_eq!(mine.shape, theirs.shape, "{name}: tensor {t} ({our_name})");
        assert_eq!(
            mine.dtype(),
            theirs.dtype(),
            "{name}: tensor {t} ({our_name})"
        );
        for (a, b) in mine.data.to_i64().iter().zip(theirs.data.to_i64()) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

fn write_inputs(dir: &Path, tag: &str, inputs: &[Tensor]) -> Vec<PathBuf> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let p = dir.join(format!("{tag}.input_{i}.npy"));
            npy::write(&p, x).unwrap();
            p
        })
        .collect()
}

fn int16x8_mobilenet_v2_runs_in_litert_like_the_converter_and_the_cpu() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::litert_python() else {
        return;
    };
    let name = "mobilenet_v2_035_128";
    let float_path = shared.join(format!("models/gen/{name}_fp32.tflite"));
    let photo = shared.join(format!("goldens/{name}_fp32/input_0.npy"));
    let dir = scratch("mobilenet");
    // Eight seeded random samples, given to both quantizers.
    let graph = model::read(&std::fs::read(&float_path).unwrap(), &Default::default()).unwrap();
    let cal = dir.join("calibration");
    std::fs::create_dir_all(&cal).unwrap();
    let samples: Vec<PathBuf> = quantize::random_calibration(graph.main(), 8)
        .unwrap()
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let p = cal.join(format!("sample_{k}.npy"));
            npy::write(&p, &s[0]).unwrap();
            p
        })
        .collect();
    let out = dir.join("int16x8.tflite");
    let mut options = QuantizeOptions::new(Mode::Int16x8);
    options.calibration = Calibration::Dir(cal.clone());
    let report = quantize::quantize_file(&float_path, &out, &options).unwrap();
    eprint!("{}", report.text());
    assert!(report.float_nodes.is_empty(), "{:?}", report.float_nodes);

    let dump = dir.join("dump");
    let converter = dir.join("converter_16x8.tflite");
    let case = json!({
        "name": name, "model": out, "inputs": [photo], "resolver": "ref", "dump": dump,
        "float": float_path, "converter": {"out": converter, "samples": samples},
    });
    let r = &litert(&py, &[case], &dir)[name];
    assert_eq!(r["ok"], true, "LiteRT: {}", r["why"]);
    let n16 = r["int16_tensors"].as_u64().unwrap();
    let cos = r["cosine"][0].as_f64().unwrap();
    let theirs = r["converter_cosine"][0].as_f64().unwrap();
    let size = std::fs::metadata(&out).unwrap().len() as f64;
    let their_size = r["converter_bytes"].as_f64().unwrap();
    eprintln!(
        "{name} int16x8 in LiteRT on the photo: cosine {cos:.6} ({n16} int16 tensors), \
         {size} bytes; the converter's 16x8: cosine {theirs:.6}, {their_size} bytes"
    );
    assert!(n16 > 10, "{n16} int16 tensors");
    assert!(cos >= 0.99, "cosine {cos}");
    assert!(
        cos >= theirs - 0.005,
        "cosine {cos} vs the converter's {theirs}"
    );
    assert!(
        (size / their_size - 1.0).abs() <= 0.10,
        "size {size} vs the converter's {their_size}"
    );

    // The same tensor types and scale counts as the converter's form.
    let written = model::read(&std::fs::read(&out).unwrap(), &Default::default()).unwrap();
    let their_tensors = r["converter_tensors"].as_object().unwrap();
    let mut compared = 0;
    for info in &written.main().tensors {
        let Some(t) = their_tensors.get(&info.name) else {
            continue;
        };
        let scales = info.quantization.as_ref().map_or(0, |q| q.scale.len());
        let dtype = info.dtype.to_string();
        assert_eq!(
            (dtype.as_str(), scales as u64),
            (t[0].as_str().unwrap(), t[1].as_u64().unwrap()),
            "tensor {}",
            info.name
        );
        compared += 1;
    }
    assert!(
        compared * 10 >= written.main().tensors.len() * 9,
        "only {compared} of {} tensors are named as in the converter's form",
        written.main().tensors.len()
    );

    // The int16 operator versions, and the general int16 ADD kernel.
    let versions: HashMap<String, i64> = r["opcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_i64().unwrap()))
        .collect();
    for (op, v) in [
        ("CONV_2D", 4),
        ("DEPTHWISE_CONV_2D", 5),
        ("FULLY_CONNECTED", 7),
        ("ADD", 3),
        ("MEAN", 3),
        ("QUANTIZE", 2),
        ("DEQUANTIZE", 3),
    ] {
        assert_eq!(versions.get(op), Some(&v), "{op}: {versions:?}");
    }
    let pots = r["add_pot_scale_int16"].as_array().unwrap();
    assert!(
        !pots.is_empty() && pots.iter().all(|p| p == false),
        "{pots:?}"
    );

    // The CPU interpreter writes every integer tensor within one level.
    let x = npy::read(&photo).unwrap();
    let ours = cpu_tensors(&out, &[x]);
    let tensors = r["tensors"].as_object().unwrap();
    assert!(
        tensors.len() > 10,
        "{} integer tensors dumped",
        tensors.len()
    );
    let worst = max_level_diff(name, &ours, tensors, &dump);
    eprintln!(
        "{name}: CPU vs LiteRT, largest difference over {} integer tensors: {worst} level(s)",
        tensors.len()
    );
    assert!(worst <= 1, "{worst} levels");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The single-op models quantized to 16x8, and the LiteRT kernels each is held
/// to: the reference ones, except the optimized ones for SUM, whose reference
/// kernel reads its int8/int16 input as uint8. Every node is int16 but in
/// op_layer_norm, whose NEG, SQUARED_DIFFERENCE and RSQRT stay float.
const SINGLE_OP: &[(&str, &str)] = &[
    ("op_conv3x3_same_relu", "ref"),
    ("op_conv3x3_s2_valid_relu6", "ref"),
    ("op_conv5x5_dil2", "ref"),
    ("op_conv1d", "ref"),
    ("op_dwconv3x3_s2_mult2", "ref"),
    ("op_dwconv5x5_valid", "ref"),
    ("op_dense_bias_relu", "ref"),
    ("op_dense_3d_input", "ref"),
    ("op_add_broadcast_channel", "ref"),
    ("op_sub_same", "ref"),
    ("op_mul_broadcast_row", "ref"),
    ("op_avgpool3x3_s2_same", "ref"),
    ("op_maxpool3x3_s1_same", "ref"),
    ("op_global_avgpool_mean", "ref"),
    ("op_mean_keepdims", "ref"),
    ("op_pad", "ref"),
    ("op_reshape_flatten", "ref"),
    ("op_squeeze_expand", "ref"),
    ("op_concat_channels", "ref"),
    ("op_softmax", "ref"),
    ("op_softmax_4d_axis", "ref"),
    ("op_act_sigmoid", "ref"),
    ("op_act_tanh", "ref"),
    ("op_act_swish", "ref"),
    ("op_act_relu6", "ref"),
    ("op_leaky_relu", "ref"),
    ("op_resize_bilinear", "ref"),
    ("op_resize_bilinear_halfpixel", "ref"),
    ("op_resize_nearest", "ref"),
    ("op_max_min", "ref"),
    ("op_transpose", "ref"),
    ("op_strided_slice", "ref"),
    ("op_slice", "ref"),
    ("op_gather", "ref"),
    ("op_split", "ref"),
    ("op_pack_unpack", "ref"),
    ("op_tile", "ref"),
    ("op_layer_norm", "ref"),
    ("op_reduce_sum_max", "builtin"),
];

/// A float CONV_2D whose 16x8 form has accumulators beyond 32 bits: inputs near
/// 1 (levels near 32767), weights of one magnitude (level 127) over 3x3x256 taps.
fn wide_conv() -> (Graph, Vec<Vec<Tensor>>) {
    let (ic, oc) = (256, 4);
    let weights: Vec<f32> = (0..oc * 9 * ic)
        .map(|i| if (i / (9 * ic)) % 2 == 0 { 0.5 } else { -0.5 })
        .collect();
    let op = Op::Conv2D(Conv2D {
        padding: Padding::Valid,
        stride_w: 1,
        stride_h: 1,
        dilation_w: 1,
        dilation_h: 1,
        activation: Activation::None,
    });
    let graph = one_node(
        op,
        vec![
            Arg::Input(vec![1, 4, 4, ic]),
            Arg::Const(vec![oc, 3, 3, ic], weights),
            Arg::Const(vec![oc], vec![0.25, -0.25, 1.0, 0.0]),
        ],
        vec![vec![1, 2, 2, oc]],
    );
    let sample = |seed: u64| {
        let v: Vec<f32> = (0..16 * ic as u64)
            .map(|i| 0.9 + 0.1 * (((i * 2654435761 + seed) % 1000) as f32 / 1000.0))
            .collect();
        vec![Tensor::new(vec![1, 4, 4, ic], Data::F32(v))]
    };
    (graph, vec![sample(1), sample(2)])
}

fn int16x8_single_op_models_match_litert_within_one_level() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch("ops");
    let mut cases = Vec::new();
    let mut inputs = HashMap::new();
    for &(name, resolver) in SINGLE_OP {
        let float_path = shared.join(format!("models/gen/{name}.tflite"));
        let out = dir.join(format!("{name}.tflite"));
        let mut options = QuantizeOptions::new(Mode::Int16x8);
        options.calibration = Calibration::Random(2);
        let report = quantize::quantize_file(&float_path, &out, &options).unwrap();
        let float_ops = ["NEG", "SQUARED_DIFFERENCE", "RSQRT"];
        assert!(
            report
                .float_nodes
                .iter()
                .all(|(_, op, _)| name == "op_layer_norm" && float_ops.contains(&op.as_str())),
            "{name}: {:?}",
            report.float_nodes
        );
        let graph = model::read(&std::fs::read(&float_path).unwrap(), &Default::default()).unwrap();
        let x = validate::random_inputs(graph.main(), 1, 11)
            .unwrap()
            .remove(0);
        cases.push(json!({
            "name": name, "model": out, "inputs": write_inputs(&dir, name, &x),
            "resolver": resolver, "dump": dir.join(format!("{name}.dump")),
        }));
        inputs.insert(name.to_string(), (out, x));
    }
    // A model written by the crate's writer from an in-memory quantization.
    let (float, samples) = wide_conv();
    let q = quantize::quantize(&float, &QuantizeOptions::new(Mode::Int16x8), &samples).unwrap();
    let out = dir.join("wide_conv.tflite");
    std::fs::write(&out, model::write(&q.graph).unwrap()).unwrap();
    let name = "wide_conv";
    cases.push(json!({
        "name": name, "model": out, "inputs": write_inputs(&dir, name, &samples[0]),
        "resolver": "ref", "dump": dir.join(format!("{name}.dump")),
    }));
    inputs.insert(name.to_string(), (out, samples[0].clone()));

    let results = litert(&py, &cases, &dir);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let r = &results[name];
        if r["ok"] != true {
            failures.push(format!("{name}: LiteRT: {}", r["why"]));
            continue;
        }
        let n16 = r["int16_tensors"].as_u64().unwrap();
        if n16 < 2 {
            failures.push(format!("{name}: {n16} int16 tensors"));
            continue;
        }
        let (model, x) = &inputs[name];
        let ours = cpu_tensors(model, x);
        let dump = PathBuf::from(case["dump"].as_str().unwrap());
        let worst = max_level_diff(name, &ours, r["tensors"].as_object().unwrap(), &dump);
        eprintln!("{name}: {n16} int16 tensors, CPU vs LiteRT within {worst} level(s)");
        if worst > 1 {
            failures.push(format!("{name}: {worst} levels from LiteRT"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ops without an int16 kernel in LiteRT stay float between DEQUANTIZE and
/// QUANTIZE, with the reason in the report.
fn ops_without_an_int16_kernel_stay_float_with_the_reason() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let float_path = shared.join("models/gen/op_act_hard_swish.tflite");
    let graph = model::read(&std::fs::read(&float_path).unwrap(), &Default::default()).unwrap();
    let samples = quantize::random_calibration(graph.main(), 2).unwrap();
    let q = quantize::quantize(&graph, &QuantizeOptions::new(Mode::Int16x8), &samples).unwrap();
    assert!(
        q.float_nodes
            .iter()
            .any(|(_, op, why)| op == "HARD_SWISH" && why.contains("int16x8")),
        "{:?}",
        q.float_nodes
    );
    let sg = q.graph.main();
    let hs = sg
        .nodes
        .iter()
        .find(|n| n.op.name() == "HARD_SWISH")
        .unwrap();
    for &t in hs.inputs.iter().flatten().chain(&hs.outputs) {
        assert_eq!(sg.tensors[t].dtype, tflite_wgpu::DType::F32);
    }
    // An int8 or uint8 interface does not go with 16x8.
    let mut options = QuantizeOptions::new(Mode::Int16x8);
    options.io = quantize::IoType::Int8;
    let e = quantize::quantize(&graph, &options, &samples).unwrap_err();
    assert!(e.to_string().contains("--io int8"), "{e}");
}

/// On the GPU the 16x8 MobileNetV2 gives the CPU's output exactly; the nodes the
/// GPU leaves on the CPU say int16 in their reason.
fn int16x8_on_the_gpu_runs_or_stays_on_the_cpu_with_a_reason() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        eprintln!("NOTE: no GPU adapter; skipping");
        return;
    }
    let float_path = shared.join("models/gen/mobilenet_v2_035_128_fp32.tflite");
    let dir = scratch("gpu");
    let out = dir.join("q.tflite");
    let mut options = QuantizeOptions::new(Mode::Int16x8);
    options.calibration = Calibration::Random(2);
    options.io = quantize::IoType::Int16;
    quantize::quantize_file(&float_path, &out, &options).unwrap();
    let model = Model::from_file(&out).unwrap();
    let input = validate::random_inputs(model.graph().main(), 1, 3)
        .unwrap()
        .remove(0)
        .remove(0);
    assert_eq!(input.dtype(), tflite_wgpu::DType::I16);
    let mut cpu = Interpreter::new(&model).unwrap();
    cpu.set_input(0, input.clone()).unwrap();
    cpu.invoke().unwrap();
    let options = tflite_wgpu::Options {
        device: Device::Gpu,
        ..Default::default()
    };
    let mut gpu = Interpreter::with_options(&model, options).unwrap();
    let report = gpu.delegate_report().unwrap().clone();
    assert!(
        !report.plan.partitions.is_empty(),
        "nothing runs on the GPU"
    );
    for (n, why) in &report.plan.fallback {
        assert!(why.contains("int16"), "node {n}: {why}");
    }
    gpu.set_input(0, input).unwrap();
    gpu.invoke().unwrap();
    let (a, b) = (cpu.output(0).unwrap(), gpu.output(0).unwrap());
    assert_eq!(a.dtype(), tflite_wgpu::DType::I16);
    assert_eq!(a.data.to_i64(), b.data.to_i64());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(
            shared,
            int16x8_mobilenet_v2_runs_in_litert_like_the_converter_and_the_cpu
        ),
        crate::case!(
            shared,
            int16x8_single_op_models_match_litert_within_one_level
        ),
        crate::case!(
            shared,
            ops_without_an_int16_kernel_stay_float_with_the_reason
        ),
        crate::case!(
            gpu_shared,
            int16x8_on_the_gpu_runs_or_stays_on_the_cpu_with_a_reason
        ),
    ]
}
