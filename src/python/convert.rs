//! numpy arrays to the crate's tensors and back: inputs are copied once out of the
//! array (contiguous arrays as one slice copy), outputs hand their vector to numpy
//! without a copy.

use crate::graph::{DType, Data, Tensor};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::PyUntypedArrayMethods;
use numpy::{Complex32, Element, IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The elements of `array` in row-major order, when its dtype is `T`.
fn elements<T: Element + Clone>(array: &Bound<'_, PyAny>) -> PyResult<Option<Vec<T>>> {
    let Ok(typed) = array.cast::<PyArrayDyn<T>>() else {
        return Ok(None);
    };
    let view = typed
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let view = view.as_array();
    Ok(Some(match view.as_slice() {
        Some(s) => s.to_vec(),
        None => view.iter().cloned().collect(),
    }))
}

/// Input `index` as a tensor of `dtype`; the array's dtype must be `dtype` exactly.
pub fn tensor_from_array(array: &Bound<'_, PyAny>, dtype: DType, index: usize) -> PyResult<Tensor> {
    let untyped = array
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("input {index}: expected a numpy array")))?;
    let shape = untyped.shape().to_vec();
    let data = match dtype {
        DType::F32 => elements::<f32>(array)?.map(Data::F32),
        DType::F16 => elements::<half::f16>(array)?.map(Data::F16),
        DType::I8 => elements::<i8>(array)?.map(Data::I8),
        DType::U8 => elements::<u8>(array)?.map(Data::U8),
        DType::I16 => elements::<i16>(array)?.map(Data::I16),
        DType::I32 => elements::<i32>(array)?.map(Data::I32),
        DType::U32 => elements::<u32>(array)?.map(Data::U32),
        DType::I64 => elements::<i64>(array)?.map(Data::I64),
        DType::Bool => elements::<bool>(array)?.map(Data::Bool),
        DType::Complex64 => elements::<Complex32>(array)?
            .map(|v| Data::C64(v.iter().flat_map(|c| [c.re, c.im]).collect())),
        other => {
            return Err(PyValueError::new_err(format!(
                "input {index}: {other} inputs are not supported"
            )))
        }
    };
    let data = data.ok_or_else(|| {
        let got = untyped
            .dtype()
            .str()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "another dtype".into());
        PyValueError::new_err(format!(
            "input {index}: expected a {} array, got {got}",
            dtype.name()
        ))
    })?;
    Ok(Tensor { shape, data })
}

/// One tensor per model input from `arrays`, each converted to its input's dtype
/// (`dtypes` in model order); a count that differs raises ValueError.
pub fn tensors_from_arrays(arrays: &[Bound<'_, PyAny>], dtypes: &[DType]) -> PyResult<Vec<Tensor>> {
    if arrays.len() != dtypes.len() {
        return Err(PyValueError::new_err(format!(
            "the model has {} input(s), {} given",
            dtypes.len(),
            arrays.len()
        )));
    }
    arrays
        .iter()
        .zip(dtypes)
        .enumerate()
        .map(|(i, (a, &dtype))| tensor_from_array(a, dtype, i))
        .collect()
}

/// A numpy array of `shape` that owns `v`.
fn array<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
    v: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| PyRuntimeError::new_err(format!("output shape {shape:?}: {e}")))?;
    Ok(a.into_pyarray(py).into_any())
}

/// `tensor` as a numpy array; its element vector moves into the array.
pub fn tensor_to_array(py: Python<'_>, tensor: Tensor) -> PyResult<Bound<'_, PyAny>> {
    let shape = tensor.shape;
    match tensor.data {
        Data::F32(v) => array(py, &shape, v),
        Data::F16(v) => array(py, &shape, v),
        Data::I8(v) => array(py, &shape, v),
        Data::U8(v) => array(py, &shape, v),
        Data::I16(v) => array(py, &shape, v),
        Data::I32(v) => array(py, &shape, v),
        Data::U32(v) => array(py, &shape, v),
        Data::I64(v) => array(py, &shape, v),
        Data::Bool(v) => array(py, &shape, v),
        Data::C64(v) => {
            let c: Vec<Complex32> = v
                .chunks_exact(2)
                .map(|p| Complex32::new(p[0], p[1]))
                .collect();
            array(py, &shape, c)
        }
    }
}

/// The numpy dtype name of `dtype` ("float32", "int8", ...).
pub fn dtype_name(dtype: DType) -> PyResult<&'static str> {
    Ok(match dtype {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::F64 => "float64",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::I16 => "int16",
        DType::U16 => "uint16",
        DType::I32 => "int32",
        DType::U32 => "uint32",
        DType::I64 => "int64",
        DType::U64 => "uint64",
        DType::Bool => "bool",
        DType::Complex64 => "complex64",
        DType::Complex128 => "complex128",
        DType::String => "object",
        other => {
            return Err(PyValueError::new_err(format!(
                "{other} tensors have no numpy dtype"
            )))
        }
    })
}
