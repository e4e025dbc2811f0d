//! `tflite_wgpu._native.Interpreter`: the crate's [`Interpreter`] for Python, with
//! the GIL released while a model loads, compiles and runs.

use super::convert::{dtype_name, tensor_to_array, tensors_from_arrays};
use super::{delegate_pairs, to_py_err};
use crate::capi::options::DelegateOptions;
use crate::graph::TensorInfo;
use crate::{Device, Error, GpuDelegate, Interpreter, Model, Options};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One model input or output as `input_details()` describes it.
struct Detail {
    index: usize,
    info: TensorInfo,
}

/// A model loaded for the CPU, the GPU, or the GPU when an adapter exists.
#[pyclass(module = "tflite_wgpu._native", name = "Interpreter", frozen)]
pub struct PyInterpreter {
    inner: Mutex<Interpreter>,
    inputs: Vec<Detail>,
    outputs: Vec<Detail>,
    /// Why `device="auto"` runs on the CPU, when it does for lack of a hardware
    /// adapter.
    fallback: Option<String>,
    /// "gpu" when any partition runs on the GPU, otherwise "cpu".
    device: &'static str,
    /// Stops a running invoke.
    cancel: Arc<AtomicBool>,
}

fn parse_device(device: &str) -> PyResult<Device> {
    match device {
        "auto" => Ok(Device::Auto),
        "gpu" => Ok(Device::Gpu),
        "cpu" => Ok(Device::Cpu),
        other => Err(PyValueError::new_err(format!(
            "device: \"{other}\" is not auto, gpu or cpu"
        ))),
    }
}

/// Build the interpreter; for `Device::Auto` without an adapter, on the CPU with
/// the reason.
fn open(
    path: &PathBuf,
    device: Device,
    delegate: DelegateOptions,
) -> Result<(Interpreter, Option<String>), Error> {
    let model = Model::from_file(path)?;
    let mut fallback = None;
    let device = match device {
        Device::Auto => match GpuDelegate::new(GpuDelegate {
            device: delegate.device,
            ..Default::default()
        }) {
            Ok(_) => Device::Auto,
            Err(Error::NoAdapter(why)) => {
                fallback = Some(why);
                Device::Cpu
            }
            Err(e) => return Err(e),
        },
        d => d,
    };
    let options = Options {
        device,
        precision_loss_allowed: delegate.precision_loss_allowed,
        gpu: delegate.device,
        partitions: delegate.partitions,
        cache_dir: delegate.cache_dir,
        ..Default::default()
    };
    let interp = Interpreter::with_options(&model, options)?;
    let choice = interp.device_choice();
    if fallback.is_none() && choice.requested == Device::Auto && choice.device == Device::Cpu {
        fallback = Some(choice.reason.clone());
    }
    Ok((interp, fallback))
}

fn details(
    n: usize,
    info: impl Fn(usize) -> crate::Result<TensorInfo>,
    index: impl Fn(usize) -> Option<usize>,
) -> PyResult<Vec<Detail>> {
    (0..n)
        .map(|i| {
            Ok(Detail {
                index: index(i).unwrap_or(i),
                info: info(i).map_err(to_py_err)?,
            })
        })
        .collect()
}

fn detail_dict<'py>(py: Python<'py>, d: &Detail) -> PyResult<Bound<'py, PyDict>> {
    let t = &d.info;
    let dict = PyDict::new(py);
    dict.set_item("name", &t.name)?;
    dict.set_item("index", d.index)?;
    dict.set_item("shape", &t.shape)?;
    let signature: Vec<i64> = match &t.shape_signature {
        Some(s) => s.iter().map(|&x| x as i64).collect(),
        None => t.shape.iter().map(|&x| x as i64).collect(),
    };
    dict.set_item("shape_signature", signature)?;
    dict.set_item("dtype", dtype_name(t.dtype)?)?;
    let (scales, zero_points, axis) = match &t.quantization {
        Some(q) => (q.scale.clone(), q.zero_point.clone(), q.axis),
        None => (Vec::new(), Vec::new(), 0),
    };
    dict.set_item("scales", scales)?;
    dict.set_item("zero_points", zero_points)?;
    dict.set_item("quantized_dimension", axis)?;
    Ok(dict)
}

#[pymethods]
impl PyInterpreter {
    /// Load `model_path` for `device` ("auto", "gpu", "cpu") at `precision`
    /// ("fp32", "fp16") with the delegate's string options.
    #[new]
    #[pyo3(signature = (model_path, device, precision, options))]
    fn new(
        py: Python<'_>,
        model_path: PathBuf,
        device: &str,
        precision: &str,
        options: Vec<(String, String)>,
    ) -> PyResult<Self> {
        let device = parse_device(device)?;
        let pairs = delegate_pairs(Some(precision), options)?;
        let delegate = DelegateOptions::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (interp, fallback) = py
            .detach(|| open(&model_path, device, delegate))
            .map_err(to_py_err)?;
        let main = interp.graph().main();
        let inputs = details(
            interp.num_inputs(),
            |i| interp.input_info(i).cloned(),
            |i| main.inputs.get(i).copied(),
        )?;
        let outputs = details(
            interp.num_outputs(),
            |i| interp.output_info(i).cloned(),
            |i| main.outputs.get(i).copied(),
        )?;
        let device = if interp.delegate_report().is_some() {
            "gpu"
        } else {
            "cpu"
        };
        Ok(PyInterpreter {
            cancel: interp.cancel_handle(),
            inner: Mutex::new(interp),
            inputs,
            outputs,
            fallback,
            device,
        })
    }

    /// Set every input from `inputs` (numpy arrays in model order), invoke, and
    /// return the outputs as new numpy arrays.
    fn run<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let dtypes: Vec<_> = self.inputs.iter().map(|d| d.info.dtype).collect();
        let tensors = tensors_from_arrays(&inputs, &dtypes)?;
        let outputs = py
            .detach(|| {
                let mut interp = self
                    .inner
                    .lock()
                    .map_err(|_| Error::Stopped("an earlier run panicked".into()))?;
                for (i, t) in tensors.into_iter().enumerate() {
                    interp.set_input(i, t)?;
                }
                interp.invoke()?;
                (0..interp.num_outputs())
                    .map(|i| interp.output(i).cloned())
                    .collect::<crate::Result<Vec<_>>>()
            })
            .map_err(to_py_err)?;
        outputs
            .into_iter()
            .map(|t| tensor_to_array(py, t))
            .collect()
    }

    /// Inputs: name, index, shape, shape_signature, dtype (numpy name),
    /// scales, zero_points, quantized_dimension.
    fn input_details<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inputs.iter().map(|d| detail_dict(py, d)).collect()
    }

    /// Outputs, as `input_details`.
    fn output_details<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.outputs.iter().map(|d| detail_dict(py, d)).collect()
    }

    /// Why `device="auto"` runs on the CPU, when no adapter was found.
    #[getter]
    fn fallback(&self) -> Option<String> {
        self.fallback.clone()
    }

    /// "gpu" when partitions of the model run on the GPU, otherwise "cpu".
    #[getter]
    fn device(&self) -> &'static str {
        self.device
    }

    /// Ask a run in progress on another thread to stop at the next node; that
    /// run raises RuntimeError.
    fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
