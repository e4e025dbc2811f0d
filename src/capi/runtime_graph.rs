//! The runtime's graph (execution plan, nodes, tensors) read through the context
//! into the crate's IR, so the same fold, fuse, support and partition code that the
//! CLI runs on a `.tflite` file decides what the delegate takes.

use super::abi::*;
use super::error::{CapiError, CapiResult};
use super::ops;
use crate::graph::{
    DType, DimensionMetadata, Node, Op, Quantization, Sparsity, Subgraph, TensorInfo,
};
use std::ffi::{c_void, CStr};
use std::sync::Arc;

/// The main subgraph as the runtime holds it: node `i` of `sg` is runtime node
/// `plan[i]`; tensor indices are the runtime's.
pub struct RuntimeGraph {
    /// Runtime node index of each IR node.
    pub plan: Vec<i32>,
    /// The IR.
    pub sg: Subgraph,
}

/// Tensor `t` of the context, checked against `tensors_size`.
///
/// # Safety
/// `ctx` is a valid context.
pub unsafe fn tensor<'a>(ctx: *const TfLiteContext, t: i32) -> CapiResult<&'a TfLiteTensor> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let n = (*ctx).tensors_size;
        match usize::try_from(t) {
            Ok(i) if i < n && !(*ctx).tensors.is_null() => Ok(&*(*ctx).tensors.add(i)),
            _ => Err(format!("tensor index {t} out of range (there are {n})").into()),
        }
    }
}

/// A C string as a `String`; None for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn name_of(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe { (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned()) }
}

/// The affine quantization of a runtime tensor.
///
/// # Safety
/// `t` is a tensor of a live context.
unsafe fn quantization(t: &TfLiteTensor) -> Option<Quantization> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let q = t.quantization;
        if q.type_ == AFFINE_QUANTIZATION && !q.params.is_null() {
            let a = &*q.params.cast::<TfLiteAffineQuantization>();
            let scale = float_array(a.scale).to_vec();
            if scale.is_empty() {
                return None;
            }
            let mut zero_point: Vec<i64> =
                int_array(a.zero_point).iter().map(|&z| z as i64).collect();
            if zero_point.is_empty() {
                zero_point = vec![0; scale.len()];
            }
            return Some(Quantization::per_channel(
                scale,
                zero_point,
                a.quantized_dimension.max(0) as usize,
            ));
        }
        None
    }
}

/// The sparsity parameters of a runtime tensor.
///
/// # Safety
/// `t` is a tensor of a live context.
unsafe fn sparsity(t: &TfLiteTensor) -> CapiResult<Option<Sparsity>> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if t.sparsity.is_null() {
            return Ok(None);
        }
        let s = &*t.sparsity;
        let to_usize = |v: &[i32]| -> CapiResult<Vec<usize>> {
            v.iter()
                .map(|&x| {
                    usize::try_from(x)
                        .map_err(|_| CapiError::from(format!("negative sparsity index {x}")))
                })
                .collect()
        };
        let n = s.dim_metadata_size.max(0) as usize;
        let mut dim_metadata = Vec::with_capacity(n);
        if n > 0 && s.dim_metadata.is_null() {
            return Err("sparsity without dimension metadata".into());
        }
        for k in 0..n {
            let m = &*s.dim_metadata.add(k);
            let u32s =
                |a: *const TfLiteIntArray| int_array(a).iter().map(|&x| x.max(0) as u32).collect();
            dim_metadata.push(match m.format {
                0 => DimensionMetadata::Dense(m.dense_size.max(0) as usize),
                1 => DimensionMetadata::Sparse {
                    segments: u32s(m.array_segments),
                    indices: u32s(m.array_indices),
                },
                f => return Err(format!("unknown sparse dimension format {f}").into()),
            });
        }
        Ok(Some(Sparsity {
            traversal_order: to_usize(int_array(s.traversal_order))?,
            block_map: to_usize(int_array(s.block_map))?,
            dim_metadata,
        }))
    }
}

/// One runtime tensor in the IR; read-only (model) data is copied as a constant.
///
/// # Safety
/// `t` is a tensor of a live context.
pub unsafe fn tensor_info(index: usize, t: &TfLiteTensor) -> CapiResult<TensorInfo> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let name = name_of(t.name).unwrap_or_default();
        let err = |what: String| CapiError::from(format!("tensor {index} ({name}): {what}"));
        let Some(dtype) = ops::dtype_of(t.type_) else {
            // Runtime scratch tensors (kTfLiteNoType until their kernel prepares) are
            // never a node input or output; a node that does touch one stays on the CPU.
            return Ok(TensorInfo::new(name, DType::Resource, Vec::new()));
        };
        let shape = int_array(t.dims)
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| err(format!("negative dimension {d}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let sig = int_array(t.dims_signature);
        let sparsity = sparsity(t).map_err(|e| err(e.to_string()))?;
        let data = if t.allocation_type == ALLOC_MMAP_RO && !t.data.is_null() {
            if sparsity.is_none() {
                if let Some(size) = dtype.size() {
                    let want = shape.iter().product::<usize>() * size;
                    if want != t.bytes {
                        return Err(err(format!(
                            "holds {} bytes, its shape {shape:?} needs {want}",
                            t.bytes
                        )));
                    }
                }
            }
            let bytes = std::slice::from_raw_parts(t.data.cast::<u8>(), t.bytes);
            Some(Arc::<[u8]>::from(bytes))
        } else {
            None
        };
        Ok(TensorInfo {
            name,
            dtype,
            shape,
            shape_signature: (!sig.is_empty()).then(|| sig.to_vec()),
            quantization: quantization(t),
            data,
            sparsity,
            is_variable: t.is_variable,
        })
    }
}

/// Indices of a node's tensor list; -1 (an omitted optional input) is None.
///
/// # Safety
/// `a` is NULL or a valid `TfLiteIntArray`.
unsafe fn indices(a: *const TfLiteIntArray, nt: usize) -> CapiResult<Vec<Option<usize>>> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        int_array(a)
            .iter()
            .map(|&t| match t {
                -1 => Ok(None),
                t if t >= 0 && (t as usize) < nt => Ok(Some(t as usize)),
                t => Err(format!("tensor index {t} out of range (there are {nt})").into()),
            })
            .collect()
    }
}

/// A node of the runtime with its registration.
///
/// # Safety
/// `ctx` is a valid context during the delegate's Prepare.
pub unsafe fn node_and_registration<'a>(
    ctx: *mut TfLiteContext,
    index: i32,
) -> CapiResult<(&'a TfLiteNode, &'a TfLiteRegistration)> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let get = (*ctx)
            .GetNodeAndRegistration
            .ok_or("the context has no GetNodeAndRegistration")?;
        let mut node: *mut TfLiteNode = std::ptr::null_mut();
        let mut reg: *mut TfLiteRegistration = std::ptr::null_mut();
        if get(ctx, index, &mut node, &mut reg) != K_OK || node.is_null() || reg.is_null() {
            return Err(format!("the runtime has no node {index}").into());
        }
        Ok((&*node, &*reg))
    }
}

/// The runtime's execution plan (copied: the runtime reuses its memory).
///
/// # Safety
/// `ctx` is a valid context during the delegate's Prepare.
pub unsafe fn execution_plan(ctx: *mut TfLiteContext) -> CapiResult<Vec<i32>> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let get = (*ctx)
            .GetExecutionPlan
            .ok_or("the context has no GetExecutionPlan")?;
        let mut plan: *mut TfLiteIntArray = std::ptr::null_mut();
        if get(ctx, &mut plan) != K_OK {
            return Err("GetExecutionPlan failed".into());
        }
        Ok(int_array(plan).to_vec())
    }
}

type PreviewFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    *const TfLiteIntArray,
    *mut *mut TfLiteDelegateParams,
    *mut i32,
) -> TfLiteStatus;

/// The graph's inputs and outputs: the runtime's own partitioning preview of all
/// nodes reports what the whole graph reads from outside and what it produces for
/// outside. Without a preview they are inferred from the nodes.
///
/// # Safety
/// `ctx` is a valid context during the delegate's Prepare.
unsafe fn graph_io(
    ctx: *mut TfLiteContext,
    plan: &[i32],
    sg: &Subgraph,
) -> (Vec<usize>, Vec<usize>) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let produced: Vec<bool> = {
            let mut p = vec![false; sg.tensors.len()];
            for n in &sg.nodes {
                for &t in &n.outputs {
                    p[t] = true;
                }
            }
            p
        };
        let is_input =
            |t: usize| !produced[t] && !sg.tensors[t].is_constant() && !sg.tensors[t].is_variable;
        let preview = (*ctx).PreviewDelegatePartitioning;
        if !preview.is_null() {
            let preview: PreviewFn = std::mem::transmute::<*const c_void, PreviewFn>(preview);
            let all = OwnedIntArray::new(plan);
            let mut parts: *mut TfLiteDelegateParams = std::ptr::null_mut();
            let mut count = 0i32;
            if preview(ctx, all.as_ptr(), &mut parts, &mut count) == K_OK && !parts.is_null() {
                let mut inputs = Vec::new();
                let mut outputs = Vec::new();
                for k in 0..count.max(0) as usize {
                    let p = &*parts.add(k);
                    for &t in int_array(p.input_tensors) {
                        if let Ok(t) = usize::try_from(t) {
                            if t < sg.tensors.len() && is_input(t) && !inputs.contains(&t) {
                                inputs.push(t);
                            }
                        }
                    }
                    for &t in int_array(p.output_tensors) {
                        if let Ok(t) = usize::try_from(t) {
                            if t < sg.tensors.len() && !outputs.contains(&t) {
                                outputs.push(t);
                            }
                        }
                    }
                }
                inputs.sort_unstable();
                return (inputs, outputs);
            }
        }
        let read: Vec<bool> = {
            let mut r = vec![false; sg.tensors.len()];
            for t in sg.nodes.iter().flat_map(|n| n.inputs.iter().flatten()) {
                r[*t] = true;
            }
            r
        };
        let inputs = (0..sg.tensors.len())
            .filter(|&t| is_input(t) && read[t])
            .collect();
        let outputs = (0..sg.tensors.len())
            .filter(|&t| produced[t] && !read[t])
            .collect();
        (inputs, outputs)
    }
}

/// Read the whole execution plan into the IR.
///
/// # Safety
/// `ctx` is a valid context during the delegate's Prepare.
pub unsafe fn read(ctx: *mut TfLiteContext) -> CapiResult<RuntimeGraph> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let plan = execution_plan(ctx)?;
        let nt = (*ctx).tensors_size;
        let mut tensors = Vec::with_capacity(nt);
        for t in 0..nt {
            tensors.push(tensor_info(t, tensor(ctx, t as i32)?)?);
        }
        let mut nodes = Vec::with_capacity(plan.len());
        for (i, &n) in plan.iter().enumerate() {
            let (node, reg) = node_and_registration(ctx, n)?;
            let inputs =
                indices(node.inputs, nt).map_err(|e| CapiError::from(format!("node {n}: {e}")))?;
            let outputs: Vec<usize> = indices(node.outputs, nt)
                .map_err(|e| CapiError::from(format!("node {n}: {e}")))?
                .into_iter()
                .flatten()
                .collect();
            let custom = (!node.custom_initial_data.is_null() && node.custom_initial_data_size > 0)
                .then(|| {
                    std::slice::from_raw_parts(
                        node.custom_initial_data.cast::<u8>(),
                        node.custom_initial_data_size as usize,
                    )
                });
            let custom_name = name_of(reg.custom_name);
            let op = if reg.builtin_code == BUILTIN_DELEGATE {
                Op::Unknown {
                    name: custom_name.unwrap_or_else(|| "DELEGATE".into()),
                }
            } else {
                let out_dtype = outputs.first().map(|&t| tensors[t].dtype);
                match ops::decode(
                    i,
                    reg.builtin_code,
                    custom_name.clone(),
                    node.builtin_data,
                    custom,
                    out_dtype,
                ) {
                    Ok(op) => op,
                    Err(_) => Op::Unknown {
                        name: custom_name
                            .unwrap_or_else(|| crate::model::builtin_name(reg.builtin_code)),
                    },
                }
            };
            nodes.push(Node {
                op,
                inputs,
                outputs,
            });
        }
        let mut sg = Subgraph {
            name: "main".into(),
            tensors,
            nodes,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        let (inputs, outputs) = graph_io(ctx, &plan, &sg);
        sg.inputs = inputs;
        sg.outputs = outputs;
        Ok(RuntimeGraph { plan, sg })
    }
}
