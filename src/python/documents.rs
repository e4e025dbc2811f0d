//! `validate(...)` and `inspect(...)`: the documents `tflite-wgpu validate --json`
//! and `tflite-wgpu inspect --json` print, as JSON text (`json.loads` on the
//! Python side).

use super::convert::tensor_from_array;
use super::to_py_err;
use crate::delegate::{PartitionOptions, Step};
use crate::gpu::device::{Backend, DeviceOptions};
use crate::gpu::pipeline::Precision;
use crate::graph::Tensor;
use crate::validate::{self, Thresholds, ValidateOptions};
use crate::{Device, Error, Interpreter, Model, Options, Result};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;

fn parse_backend(backend: &str) -> PyResult<Backend> {
    Backend::parse(backend).ok_or_else(|| {
        PyValueError::new_err(format!(
            "backend: \"{backend}\" is not one of auto, vulkan, metal, dx12, gl"
        ))
    })
}

fn parse_precision(precision: &str) -> PyResult<bool> {
    match precision {
        "fp32" => Ok(false),
        "fp16" => Ok(true),
        other => Err(PyValueError::new_err(format!(
            "precision: \"{other}\" is not fp32 or fp16"
        ))),
    }
}

/// Per node "gpu" or "cpu", the plan's parts (device, precision, nodes), the
/// nodes left on the CPU with the reason, and the device line.
type PlanView = (
    Vec<&'static str>,
    Vec<(&'static str, &'static str, Vec<usize>)>,
    Vec<(usize, String)>,
    String,
);

fn plan_view(interp: &Interpreter) -> PlanView {
    let n = interp.graph().main().nodes.len();
    let Some(report) = interp.delegate_report() else {
        return (
            vec!["cpu"; n],
            vec![("cpu", "cpu", (0..n).collect())],
            vec![],
            "cpu (no GPU)".into(),
        );
    };
    let mut device = vec!["cpu"; n];
    let mut parts = Vec::new();
    let mut cpu_run: Vec<usize> = Vec::new();
    for step in &report.plan.steps {
        match step {
            Step::Cpu(k) => cpu_run.push(*k),
            Step::Gpu(p) => {
                if !cpu_run.is_empty() {
                    parts.push(("cpu", "cpu", std::mem::take(&mut cpu_run)));
                }
                let nodes = report.plan.partitions[*p].nodes.clone();
                let compiled = report.partition_precision.get(*p).copied().flatten();
                if compiled.is_some() {
                    for &k in &nodes {
                        device[k] = "gpu";
                    }
                }
                let (dev, precision) = match compiled {
                    None => ("cpu", "cpu"),
                    Some(Precision::F32) => ("gpu", "fp32"),
                    Some(Precision::F16) => ("gpu", "fp16"),
                };
                parts.push((dev, precision, nodes));
            }
        }
    }
    if !cpu_run.is_empty() {
        parts.push(("cpu", "cpu", cpu_run));
    }
    let mut fallback = report.plan.fallback.clone();
    for (p, why) in &report.failed {
        for &k in &report.plan.partitions[*p].nodes {
            fallback.push((k, format!("its partition failed to compile: {why}")));
        }
    }
    let mut note = format!("gpu {} at {:?}", report.adapter, report.precision);
    if report.f16_unavailable {
        note.push_str(" (fp16 requested, but the adapter has no SHADER_F16: running fp32)");
    }
    (device, parts, fallback, note)
}

fn inspect_doc(path: &PathBuf, options: Options) -> Result<Value> {
    let model = Model::from_file(path)?;
    let interp = Interpreter::with_options(&model, options)?;
    let (device, parts, fallback, note) = plan_view(&interp);
    let g = interp.graph();
    let sg = g.main();
    let nodes: Vec<_> = sg
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "index": i,
                "op": n.op.name(),
                "inputs": n.inputs.iter().map(|t| t.map_or(-1, |t| t as i64)).collect::<Vec<_>>(),
                "outputs": n.outputs,
                "device": device.get(i).copied().unwrap_or("cpu"),
            })
        })
        .collect();
    let tensors: Vec<_> = sg
        .tensors
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "index": i,
                "name": t.name,
                "dtype": t.dtype.name(),
                "shape": t.shape,
                "constant": t.is_constant(),
            })
        })
        .collect();
    let partitions: Vec<_> = parts
        .iter()
        .map(|(d, precision, nodes)| json!({"device": d, "precision": precision, "nodes": nodes}))
        .collect();
    let fallback: Vec<_> = fallback
        .iter()
        .map(|(k, why)| {
            json!({
                "node": k,
                "op": sg.nodes.get(*k).map(|n| n.op.name()).unwrap_or("?"),
                "reason": why,
            })
        })
        .collect();
    Ok(json!({
        "model": path.display().to_string(),
        "nodes": nodes,
        "tensors": tensors,
        "inputs": sg.inputs,
        "outputs": sg.outputs,
        "partitions": partitions,
        "fallback": fallback,
        "subgraphs": g.subgraphs.len(),
        "device": note,
        "original_nodes": model.graph().main().nodes.len(),
    }))
}

/// The `inspect --json` document of `model_path` for `device` at `precision`.
#[pyfunction]
pub fn inspect_json(
    py: Python<'_>,
    model_path: PathBuf,
    device: &str,
    precision: &str,
    backend: &str,
) -> PyResult<String> {
    let device = match device {
        "auto" => Device::Auto,
        "gpu" => Device::Gpu,
        "cpu" => Device::Cpu,
        other => {
            return Err(PyValueError::new_err(format!(
                "device: \"{other}\" is not auto, gpu or cpu"
            )))
        }
    };
    let options = Options {
        device,
        precision_loss_allowed: parse_precision(precision)?,
        gpu: DeviceOptions {
            backend: parse_backend(backend)?,
            high_performance: true,
        },
        ..Default::default()
    };
    let doc = py
        .detach(|| inspect_doc(&model_path, options))
        .map_err(to_py_err)?;
    Ok(doc.to_string())
}

/// The options of one `validate` call.
struct ValidateCall {
    path: PathBuf,
    inputs: Option<Vec<Tensor>>,
    random: usize,
    seed: u64,
    auto_mixed: bool,
    opts: ValidateOptions,
}

fn validate_doc(call: ValidateCall) -> Result<Value> {
    let model = Model::from_file(&call.path)?;
    let inputs = match call.inputs {
        Some(set) => vec![set],
        None => {
            let sg = Interpreter::new(&model)?.graph().main().clone();
            validate::random_inputs(&sg, call.random.max(1), call.seed)?
        }
    };
    let (v, mixed) = if call.auto_mixed {
        let (search, v) = validate::auto_mixed(&model, &inputs, &call.opts)?;
        (v, Some(search))
    } else {
        (validate::validate(&model, &inputs, &call.opts)?, None)
    };
    let mut doc = serde_json::to_value(&v).map_err(|e| Error::Stopped(e.to_string()))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("model".into(), call.path.display().to_string().into());
        obj.insert("pass".into(), v.pass().into());
        if let Some(s) = &mixed {
            obj.insert(
                "auto_mixed".into(),
                serde_json::to_value(s).map_err(|e| Error::Stopped(e.to_string()))?,
            );
        }
    }
    Ok(doc)
}

/// The `validate --json` document: the GPU at `precision` against the CPU
/// reference on `inputs` (one array per model input) or `random` seeded sets.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn validate_json(
    py: Python<'_>,
    model_path: PathBuf,
    precision: &str,
    inputs: Option<Vec<Bound<'_, PyAny>>>,
    random: usize,
    seed: u64,
    backend: &str,
    per_layer: bool,
    fp32_nodes: Vec<usize>,
    auto_mixed: bool,
    max_rel: f64,
    min_cosine: f64,
) -> PyResult<String> {
    let inputs = match inputs {
        None => None,
        Some(arrays) => {
            let model = py
                .detach(|| Model::from_file(&model_path))
                .map_err(to_py_err)?;
            let sg = model.graph().main();
            if arrays.len() != sg.inputs.len() {
                return Err(PyValueError::new_err(format!(
                    "the model has {} input(s), {} given",
                    sg.inputs.len(),
                    arrays.len()
                )));
            }
            let tensors = arrays
                .iter()
                .zip(&sg.inputs)
                .enumerate()
                .map(|(i, (a, &t))| tensor_from_array(a, sg.tensors[t].dtype, i))
                .collect::<PyResult<Vec<_>>>()?;
            Some(tensors)
        }
    };
    let call = ValidateCall {
        path: model_path,
        inputs,
        random,
        seed,
        auto_mixed,
        opts: ValidateOptions {
            precision_loss_allowed: parse_precision(precision)?,
            gpu: DeviceOptions {
                backend: parse_backend(backend)?,
                high_performance: true,
            },
            partitions: PartitionOptions {
                fp32_nodes,
                ..Default::default()
            },
            per_layer,
            thresholds: Thresholds {
                max_rel,
                min_cosine,
            },
        },
    };
    let doc = py.detach(|| validate_doc(call)).map_err(to_py_err)?;
    Ok(doc.to_string())
}
