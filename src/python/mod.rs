//! The `tflite_wgpu._native` Python extension module (cargo feature `python`,
//! built by maturin; the pure-Python package is `python/tflite_wgpu/`).
//!
//! The same shared object exports the LiteRT external delegate C ABI of
//! [`crate::capi`], so the package hands its own path to LiteRT's
//! `load_delegate`. Errors become Python exceptions carrying the crate's
//! messages: `ValueError` for bad arguments and models, `OSError` for files,
//! `RuntimeError` for device failures and stopped runs.

mod convert;
mod documents;
mod interpreter;

use crate::capi::options::DelegateOptions;
use crate::Error;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// The Python exception for a crate error.
fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Malformed { .. }
        | Error::IndexOutOfRange { .. }
        | Error::Tensor { .. }
        | Error::Node { .. }
        | Error::UnsupportedOp { .. }
        | Error::Graph { .. }
        | Error::Input { .. }
        | Error::Output { .. } => PyValueError::new_err(msg),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { .. } | Error::Npy { .. } => PyOSError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// The delegate's string options with `precision` ("fp32" or "fp16") as
/// `is_precision_loss_allowed`, checked as the C ABI checks them.
fn delegate_pairs(
    precision: Option<&str>,
    options: Vec<(String, String)>,
) -> PyResult<Vec<(String, String)>> {
    let mut pairs = Vec::with_capacity(options.len() + 1);
    if let Some(p) = precision {
        let allowed = match p {
            "fp32" => "0",
            "fp16" => "1",
            other => {
                return Err(PyValueError::new_err(format!(
                    "precision: \"{other}\" is not fp32 or fp16"
                )))
            }
        };
        if options
            .iter()
            .any(|(k, _)| k == "is_precision_loss_allowed")
        {
            return Err(PyValueError::new_err(
                "give precision or is_precision_loss_allowed, not both",
            ));
        }
        pairs.push(("is_precision_loss_allowed".to_string(), allowed.to_string()));
    }
    pairs.extend(options);
    DelegateOptions::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(pairs)
}

/// Check delegate options and return them as the string pairs LiteRT passes to
/// `tflite_plugin_create_delegate`; a bad key or value raises ValueError naming it.
#[pyfunction]
#[pyo3(signature = (precision, options))]
fn delegate_options(
    precision: Option<&str>,
    options: Vec<(String, String)>,
) -> PyResult<Vec<(String, String)>> {
    delegate_pairs(precision, options)
}

/// The option keys the delegate accepts, each with the values it takes.
#[pyfunction]
fn delegate_option_keys() -> Vec<(&'static str, &'static str)> {
    crate::capi::options::KEYS.to_vec()
}

/// The adapter the delegate options select, described in one line, when it is a
/// software one (lavapipe, SwiftShader, WARP); None for a hardware adapter or none.
#[pyfunction]
fn software_adapter(py: Python<'_>, options: Vec<(String, String)>) -> PyResult<Option<String>> {
    let parsed = DelegateOptions::parse(options.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(py.detach(|| crate::warn_if_software_adapter(parsed.device, "load_delegate")))
}

/// Run the `tflite-wgpu` command line on `argv` (the first item is the program
/// name) with the GIL released, and return its exit status.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    py.detach(|| crate::cli::run(argv))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<interpreter::PyInterpreter>()?;
    m.add_function(wrap_pyfunction!(delegate_options, m)?)?;
    m.add_function(wrap_pyfunction!(delegate_option_keys, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(software_adapter, m)?)?;
    m.add_function(wrap_pyfunction!(documents::inspect_json, m)?)?;
    m.add_function(wrap_pyfunction!(documents::validate_json, m)?)?;
    m.add_function(wrap_pyfunction!(documents::quantize_json, m)?)?;
    Ok(())
}
