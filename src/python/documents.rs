//! `validate(...)`, `inspect(...)` and `quantize(...)`: the documents
//! `tflite-wgpu validate --json`, `inspect --json` and `quantize --json` print,
//! built by the command line's own code and returned as JSON text (`json.loads`
//! on the Python side).

use super::convert::tensors_from_arrays;
use super::to_py_err;
use crate::cli::{
    self, BackendArg, DeviceArg, ExecArgs, OverflowGuardArg, PrecisionArg, QuantizeArgs,
    ValidateArgs,
};
use crate::Model;
use clap::error::{ContextKind, ContextValue};
use clap::{Parser, ValueEnum};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

/// `value` as the command line's `--{what}` flag reads it.
fn parse_arg<T: ValueEnum>(what: &str, value: &str) -> PyResult<T> {
    T::from_str(value, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        PyValueError::new_err(format!(
            "{what}: \"{value}\" is not one of {}",
            names.join(", ")
        ))
    })
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
    let exec = ExecArgs {
        device: parse_arg::<DeviceArg>("device", device)?,
        precision: parse_arg::<PrecisionArg>("precision", precision)?,
        backend: parse_arg::<BackendArg>("backend", backend)?,
        max_delegated_partitions: None,
        min_nodes_per_partition: 1,
        fp32_nodes: Vec::new(),
        precision_plan: None,
        overflow_guard: OverflowGuardArg::On,
        cache_dir: None,
    };
    let model = Some(model_path);
    let doc = py
        .detach(|| cli::options(&exec).and_then(|o| cli::inspect_document(&model, o, &[])))
        .map_err(to_py_err)?;
    Ok(doc.to_string())
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
    let given = match inputs {
        None => None,
        Some(arrays) => {
            let model = py
                .detach(|| Model::from_file(&model_path))
                .map_err(to_py_err)?;
            let sg = model.graph().main();
            let dtypes: Vec<_> = sg.inputs.iter().map(|&t| sg.tensors[t].dtype).collect();
            Some(tensors_from_arrays(&arrays, &dtypes)?)
        }
    };
    let args = ValidateArgs {
        model: Some(model_path),
        inputs: Vec::new(),
        random,
        seed,
        precision: parse_arg("precision", precision)?,
        backend: parse_arg("backend", backend)?,
        per_layer,
        json: true,
        report: None,
        csv: None,
        model_explorer: None,
        max_rel,
        min_cosine,
        fp32_nodes,
        auto_mixed,
        cache_dir: None,
        precision_plan: None,
        save_plan: None,
        top: 0,
    };
    let doc = py
        .detach(|| cli::validate_document(&args, given))
        .map_err(to_py_err)?;
    Ok(doc.to_string())
}

/// `quantize` as the command line reads it: the model, `--output`, then flags.
#[derive(Parser)]
#[command(name = "quantize", no_binary_name = true)]
struct QuantizeLine {
    #[command(flatten)]
    args: QuantizeArgs,
}

/// A flag the command line refused, as a ValueError naming the Python argument
/// (`--keep-float` is `keep_float`).
fn flag_error(e: clap::Error) -> PyErr {
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split_whitespace().next().unwrap_or("").to_string(),
        _ => String::new(),
    };
    let name = flag.trim_start_matches('-').replace('-', "_");
    let value = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v.clone(),
        _ => String::new(),
    };
    match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) if !name.is_empty() => PyValueError::new_err(format!(
            "{name}: \"{value}\" is not one of {}",
            valid.join(", ")
        )),
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            if name.is_empty() {
                PyValueError::new_err(first.to_string())
            } else {
                PyValueError::new_err(format!("{name}: {first}"))
            }
        }
    }
}

/// The report `tflite-wgpu quantize SRC --output DST FLAGS... --json` prints, made
/// by the command line's own code after parsing `flags` as it does: `src`
/// quantized into `dst` (written; `src` is never modified).
#[pyfunction]
pub fn quantize_json(
    py: Python<'_>,
    src: PathBuf,
    dst: PathBuf,
    flags: Vec<String>,
) -> PyResult<String> {
    let mut argv: Vec<OsString> = vec![src.into(), "--output".into(), dst.into()];
    argv.extend(flags.into_iter().map(OsString::from));
    let line = QuantizeLine::try_parse_from(argv).map_err(flag_error)?;
    let report = py
        .detach(|| cli::quantize_report(&line.args))
        .map_err(to_py_err)?;
    serde_json::to_string(&report).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}
