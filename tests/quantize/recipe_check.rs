//! The helpers of the recipe tests (recipes.rs): recipe JSON builders, the
//! quantization of a shared model by a recipe, lookups in the written file, and
//! the LiteRT and CPU interpreter runs that check it
//! (tests/python/recipe_litert_check.py runs LiteRT).

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tflite_wgpu::graph::{Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::quantize::{self, Calibration, Mode, QuantizeOptions, Recipe, Report};
use tflite_wgpu::validate::{random_inputs, real_values, ErrorStats};
use tflite_wgpu::{model, npy, DType, Interpreter, Model};

pub(crate) const MOBILENET: &str = "models/gen/mobilenet_v2_035_128_fp32.tflite";
pub(crate) const DENSE_RELU: &str = "models/gen/op_dense_bias_relu.tflite";
/// The seed of the input LiteRT and the CPU interpreter run on.
pub(crate) const INPUT_SEED: u64 = 0x2ec1_be25;

/// LiteRT's reference kernels and its default path (XNNPACK).
pub(crate) const REF_AND_XNNPACK: &[&str] = &["BUILTIN_REF", "AUTO"];
/// LiteRT's optimized builtin kernels and its default path (XNNPACK): the
/// blockwise kernel is not in the reference set.
pub(crate) const OPTIMIZED_AND_XNNPACK: &[&str] = &["BUILTIN_WITHOUT_DEFAULT_DELEGATES", "AUTO"];

/// An op_config for static int8 activations and `weights`.
pub(crate) fn static_config(weights: &str, symmetric: bool) -> String {
    format!(
        r#"{{"activation_tensor_config": {{"num_bits": 8, "symmetric": {symmetric},
            "granularity": "TENSORWISE", "dtype": "INT"}},
            "weight_tensor_config": {weights}, "compute_precision": "INTEGER",
            "explicit_dequantize": false}}"#
    )
}

/// An op_config for dynamic quantization of `weights`.
pub(crate) fn dynamic_config(weights: &str) -> String {
    format!(
        r#"{{"weight_tensor_config": {weights}, "compute_precision": "INTEGER",
            "explicit_dequantize": false}}"#
    )
}

/// An op_config for weight-only quantization of `weights`.
pub(crate) fn weight_only_config(weights: &str) -> String {
    format!(
        r#"{{"weight_tensor_config": {weights}, "compute_precision": "FLOAT",
            "explicit_dequantize": true}}"#
    )
}

/// A weight_tensor_config.
pub(crate) fn weights(bits: u32, granularity: &str, symmetric: bool) -> String {
    format!(
        r#"{{"num_bits": {bits}, "symmetric": {symmetric}, "granularity": "{granularity}",
            "dtype": "INT"}}"#
    )
}

/// A recipe entry.
pub(crate) fn entry(regex: &str, operation: &str, config: &str) -> String {
    format!(
        r#"{{"regex": "{regex}", "operation": "{operation}",
            "algorithm_key": "min_max_uniform_quantize", "op_config": {config}}}"#
    )
}

/// A model quantized by a recipe, read back.
pub(crate) struct Quantized {
    pub(crate) float: PathBuf,
    pub(crate) path: PathBuf,
    pub(crate) sg: Subgraph,
    pub(crate) report: Report,
    pub(crate) dir: PathBuf,
}

pub(crate) fn scratch(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tflite-wgpu-recipes-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Quantize `model` (under the shared directory) with the recipe `entries` over
/// `mode`, calibrating on two seeded random samples.
pub(crate) fn quantize_with(
    shared: &Path,
    model: &str,
    mode: Mode,
    entries: &[String],
    tag: &str,
) -> tflite_wgpu::Result<Quantized> {
    let dir = scratch(tag);
    let float = shared.join(model);
    let mut options = QuantizeOptions::new(mode);
    options.calibration = Calibration::Random(2);
    options.recipe = Some(Recipe::parse(
        &format!("[{}]", entries.join(",")),
        &format!("{tag}.json"),
    )?);
    let path = dir.join(format!("{tag}.tflite"));
    let report = quantize::quantize_file(&float, &path, &options)?;
    let graph = model::read(&std::fs::read(&path).unwrap(), &Default::default()).unwrap();
    Ok(Quantized {
        float,
        path,
        sg: graph.subgraphs[0].clone(),
        report,
        dir,
    })
}

/// The nodes of op `op` whose first output's name contains `name`.
pub(crate) fn nodes<'a>(sg: &'a Subgraph, op: &str, name: &str) -> Vec<&'a Node> {
    sg.nodes
        .iter()
        .filter(|n| n.op.name() == op && sg.tensors[n.outputs[0]].name.contains(name))
        .collect()
}

/// The weight constant of `node` (input 1), through the DEQUANTIZE that makes
/// its float copy when there is one; and whether there is.
pub(crate) fn weight<'a>(sg: &'a Subgraph, node: &Node) -> (&'a TensorInfo, bool) {
    let t = node.inputs[1].unwrap();
    match sg.nodes.iter().find(|d| d.outputs[0] == t) {
        Some(d) if d.op == Op::Dequantize => (&sg.tensors[d.inputs[0].unwrap()], true),
        _ => (&sg.tensors[t], false),
    }
}

/// The activations (non-constant tensors) read or written by `node`.
pub(crate) fn activations<'a>(sg: &'a Subgraph, node: &Node) -> Vec<&'a TensorInfo> {
    node.inputs
        .iter()
        .flatten()
        .chain(&node.outputs)
        .map(|&t| &sg.tensors[t])
        .filter(|t| !t.is_constant())
        .collect()
}

/// The integer levels of a quantized weight (INT4 unpacked).
pub(crate) fn levels(w: &TensorInfo) -> Vec<i8> {
    let bytes = w.data.as_deref().unwrap();
    match w.dtype {
        DType::I8 => bytes.iter().map(|&b| b as i8).collect(),
        _ => tflite_wgpu::graph::unpack_int4(bytes, w.num_elements()),
    }
}

/// What LiteRT said of one resolver: output cosines to the float model, and the
/// outputs.
pub(crate) struct LiteRt {
    cosine: Vec<f64>,
    outputs: Vec<Vec<f64>>,
}

/// Run the quantized model in LiteRT with each of `resolvers` and in the CPU
/// interpreter on one seeded input. Checks that each run loads and gives finite
/// outputs with a cosine of at least `min_cosine` to the float model's on every
/// output, and that the CPU interpreter's outputs have a cosine of at least
/// 0.995 to those of LiteRT's first resolver (the hybrid kernels quantize their
/// inputs at run time, so a last-bit difference in a float op before one can move
/// a level and the output by more than a rounding error: LiteRT's own reference
/// and XNNPACK paths differ by as much) (or, when `ours_like_litert` is
/// false, at least `min_cosine` to the float model's: for a file that mixes int8
/// kernels, where the CPU interpreter follows LiteRT's reference rounding, with
/// blockwise ones, which only LiteRT's optimized kernels run). Returns the
/// lowest LiteRT cosine.
pub(crate) fn check_runs(
    q: &Quantized,
    resolvers: &[&str],
    min_cosine: f64,
    ours_like_litert: bool,
) -> f64 {
    let Some(py) = common::litert_python() else {
        return 1.0;
    };
    let float = model::read(&std::fs::read(&q.float).unwrap(), &Default::default()).unwrap();
    let sample = random_inputs(float.main(), 1, INPUT_SEED).unwrap();
    let inputs: Vec<PathBuf> = sample[0]
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let p = q.dir.join(format!("input_{i}.npy"));
            npy::write(&p, x).unwrap();
            p
        })
        .collect();
    let case = q.dir.join("case.json");
    std::fs::write(
        &case,
        serde_json::to_vec(&serde_json::json!({
            "float": q.float, "quantized": q.path, "inputs": inputs,
            "resolvers": resolvers, "out": q.dir,
        }))
        .unwrap(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/recipe_litert_check.py");
    let run = Command::new(&py).arg(&script).arg(&case).output().unwrap();
    assert!(
        run.status.success(),
        "{}: the LiteRT check failed:\n{}",
        q.path.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let mut said: HashMap<String, LiteRt> = HashMap::new();
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let r = v["resolver"].as_str().unwrap().to_string();
        assert!(
            v["ok"].as_bool() == Some(true),
            "{} in LiteRT ({r}): {}",
            q.path.display(),
            v["why"]
        );
        let cosine: Vec<f64> = v["cosine"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_f64().unwrap())
            .collect();
        let outputs = (0..cosine.len())
            .map(|k| {
                let t = npy::read(q.dir.join(format!("{r}.output_{k}.npy"))).unwrap();
                t.data.to_f64()
            })
            .collect();
        said.insert(r, LiteRt { cosine, outputs });
    }
    let mut lowest = 1.0f64;
    for r in resolvers {
        let l = said
            .get(*r)
            .unwrap_or_else(|| panic!("no LiteRT verdict for {r}"));
        for (k, c) in l.cosine.iter().enumerate() {
            eprintln!(
                "{}: LiteRT {r} output {k}: cosine {c:.6} to the float model",
                q.path.file_name().unwrap().to_string_lossy()
            );
            assert!(
                *c >= min_cosine,
                "{} in LiteRT ({r}) output {k}: cosine {c:.6} < {min_cosine}",
                q.path.display()
            );
            lowest = lowest.min(*c);
        }
    }
    // The CPU interpreter against LiteRT on the same input.
    let m = Model::from_file(&q.path).unwrap();
    let mut it = Interpreter::new(&m).unwrap();
    for (i, x) in sample[0].iter().enumerate() {
        it.set_input(i, x.clone()).unwrap();
    }
    it.invoke().unwrap();
    let float_out = |k: usize| -> Vec<f64> {
        let m = Model::from_file(&q.float).unwrap();
        let mut it = Interpreter::new(&m).unwrap();
        for (i, x) in sample[0].iter().enumerate() {
            it.set_input(i, x.clone()).unwrap();
        }
        it.invoke().unwrap();
        it.output(k).unwrap().data.to_f64()
    };
    let first = &said[resolvers[0]];
    for (k, theirs) in first.outputs.iter().enumerate() {
        let info = it.output_info(k).unwrap().clone();
        let ours = real_values(it.output(k).unwrap(), &info).unwrap();
        let (against, min, what) = match ours_like_litert {
            true => (theirs.clone(), 0.995, format!("LiteRT ({})", resolvers[0])),
            false => (float_out(k), min_cosine, "the float model".to_string()),
        };
        let mut s = ErrorStats::default();
        s.add(&against, &ours, &info.shape);
        let c = s.finish().cosine;
        assert!(
            c >= min,
            "{} output {k}: the CPU interpreter's cosine to {what} is {c:.6}",
            q.path.display(),
        );
    }
    lowest
}

pub(crate) fn done(q: Quantized) {
    let _ = std::fs::remove_dir_all(&q.dir);
}
