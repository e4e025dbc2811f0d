//! Building the IR from `.tflite` bytes, validating every index, offset and size.

use super::fb::Table;
use super::options::RawOp;
use super::LoadOptions;
use crate::error::{Error, Result};
use crate::graph::{
    topological_order, Blockwise, DType, DimensionMetadata, Graph, Node, Quantization, Signature,
    Sparsity, Subgraph, TensorInfo,
};
use std::sync::Arc;

/// Field ids of the schema tables read here.
mod field {
    pub const MODEL_VERSION: usize = 0;
    pub const MODEL_OPERATOR_CODES: usize = 1;
    pub const MODEL_SUBGRAPHS: usize = 2;
    pub const MODEL_DESCRIPTION: usize = 3;
    pub const MODEL_BUFFERS: usize = 4;
    pub const MODEL_METADATA: usize = 6;
    pub const MODEL_SIGNATURE_DEFS: usize = 7;
    pub const OPCODE_DEPRECATED_BUILTIN: usize = 0;
    pub const OPCODE_CUSTOM: usize = 1;
    pub const OPCODE_VERSION: usize = 2;
    pub const OPCODE_BUILTIN: usize = 3;
    pub const SUBGRAPH_TENSORS: usize = 0;
    pub const SUBGRAPH_INPUTS: usize = 1;
    pub const SUBGRAPH_OUTPUTS: usize = 2;
    pub const SUBGRAPH_OPERATORS: usize = 3;
    pub const SUBGRAPH_NAME: usize = 4;
    pub const TENSOR_SHAPE: usize = 0;
    pub const TENSOR_TYPE: usize = 1;
    pub const TENSOR_BUFFER: usize = 2;
    pub const TENSOR_NAME: usize = 3;
    pub const TENSOR_QUANTIZATION: usize = 4;
    pub const TENSOR_IS_VARIABLE: usize = 5;
    pub const TENSOR_SPARSITY: usize = 6;
    pub const TENSOR_SHAPE_SIGNATURE: usize = 7;
    pub const QUANT_SCALE: usize = 2;
    pub const QUANT_ZERO_POINT: usize = 3;
    pub const QUANT_DETAILS_TYPE: usize = 4;
    pub const QUANT_DETAILS: usize = 5;
    pub const QUANT_DIMENSION: usize = 6;
    pub const SPARSITY_TRAVERSAL_ORDER: usize = 0;
    pub const SPARSITY_BLOCK_MAP: usize = 1;
    pub const SPARSITY_DIM_METADATA: usize = 2;
    pub const DIM_FORMAT: usize = 0;
    pub const DIM_DENSE_SIZE: usize = 1;
    pub const DIM_SEGMENTS_TYPE: usize = 2;
    pub const DIM_SEGMENTS: usize = 3;
    pub const DIM_INDICES_TYPE: usize = 4;
    pub const DIM_INDICES: usize = 5;
    pub const INDEX_VECTOR_VALUES: usize = 0;
    pub const OP_OPCODE_INDEX: usize = 0;
    pub const OP_INPUTS: usize = 1;
    pub const OP_OUTPUTS: usize = 2;
    pub const OP_BUILTIN_OPTIONS_TYPE: usize = 3;
    pub const OP_BUILTIN_OPTIONS: usize = 4;
    pub const OP_CUSTOM_OPTIONS: usize = 5;
    pub const OP_LARGE_CUSTOM_OPTIONS_OFFSET: usize = 9;
    pub const OP_LARGE_CUSTOM_OPTIONS_SIZE: usize = 10;
    pub const BUFFER_DATA: usize = 0;
    pub const BUFFER_OFFSET: usize = 1;
    pub const BUFFER_SIZE: usize = 2;
    pub const METADATA_NAME: usize = 0;
    pub const METADATA_BUFFER: usize = 1;
    pub const SIGNATURE_INPUTS: usize = 0;
    pub const SIGNATURE_OUTPUTS: usize = 1;
    pub const SIGNATURE_KEY: usize = 2;
    pub const SIGNATURE_SUBGRAPH: usize = 4;
    pub const TENSOR_MAP_NAME: usize = 0;
    pub const TENSOR_MAP_INDEX: usize = 1;
}

/// The file identifier TFLite writes at bytes 4..8.
pub const FILE_IDENTIFIER: &[u8; 4] = b"TFL3";

/// One entry of the model's operator code table.
pub(super) struct OperatorCode {
    /// The effective builtin code.
    pub(super) code: i32,
    /// The custom code of CUSTOM ops.
    pub(super) custom: Option<String>,
    /// The operator version.
    pub(super) version: i32,
}

/// The model's operator code table.
pub(super) fn read_opcodes(model: &Table) -> Result<Vec<OperatorCode>> {
    model
        .tables(field::MODEL_OPERATOR_CODES, "OperatorCode")?
        .iter()
        .map(|t| {
            let deprecated = t.scalar::<i8>(field::OPCODE_DEPRECATED_BUILTIN, 0)? as i32;
            let builtin = t.scalar::<i32>(field::OPCODE_BUILTIN, 0)?;
            Ok(OperatorCode {
                code: deprecated.max(builtin),
                custom: t.string(field::OPCODE_CUSTOM)?,
                version: t.scalar::<i32>(field::OPCODE_VERSION, 1)?,
            })
        })
        .collect()
}

/// Parse and validate a whole model.
pub fn read(bytes: &[u8], limits: &LoadOptions) -> Result<Graph> {
    if bytes.len() < 8 {
        return Err(Error::malformed(format!(
            "file of {} bytes is too short for a FlatBuffer",
            bytes.len()
        )));
    }
    if &bytes[4..8] != FILE_IDENTIFIER {
        return Err(Error::malformed(format!(
            "file identifier is {:?}, expected \"TFL3\"",
            String::from_utf8_lossy(&bytes[4..8])
        )));
    }
    let model = Table::root(bytes, "Model")?;
    let version = model.scalar::<u32>(field::MODEL_VERSION, 0)?;
    let description = model.string(field::MODEL_DESCRIPTION)?.unwrap_or_default();

    let buffers = read_buffers(bytes, &model)?;
    let opcodes = read_opcodes(&model)?;

    let subgraph_tables = model.tables(field::MODEL_SUBGRAPHS, "SubGraph")?;
    if subgraph_tables.is_empty() {
        return Err(Error::malformed("model has no subgraphs"));
    }
    let mut budget = limits.max_total_bytes;
    let mut subgraphs = Vec::with_capacity(subgraph_tables.len());
    for (s, table) in subgraph_tables.iter().enumerate() {
        subgraphs.push(read_subgraph(
            s,
            table,
            &buffers,
            &opcodes,
            limits,
            &mut budget,
        )?);
    }
    let num_subgraphs = subgraphs.len();
    for (s, sg) in subgraphs.iter().enumerate() {
        for (n, node) in sg.nodes.iter().enumerate() {
            for idx in control_flow_targets(&node.op) {
                if idx >= num_subgraphs {
                    return Err(Error::IndexOutOfRange {
                        kind: "subgraph",
                        index: idx as i64,
                        len: num_subgraphs,
                        context: format!("subgraph {s} node {n} ({})", node.op.name()),
                    });
                }
            }
        }
    }

    let metadata = model
        .tables(field::MODEL_METADATA, "Metadata")?
        .iter()
        .map(|t| {
            let name = t.string(field::METADATA_NAME)?.unwrap_or_default();
            let b = t.scalar::<u32>(field::METADATA_BUFFER, 0)? as usize;
            let data = buffers.get(b).ok_or_else(|| Error::IndexOutOfRange {
                kind: "buffer",
                index: b as i64,
                len: buffers.len(),
                context: format!("metadata \"{name}\""),
            })?;
            Ok((name, data.clone()))
        })
        .collect::<Result<Vec<_>>>()?;

    let signatures = model
        .tables(field::MODEL_SIGNATURE_DEFS, "SignatureDef")?
        .iter()
        .map(|t| read_signature(t, &subgraphs))
        .collect::<Result<Vec<_>>>()?;

    Ok(Graph {
        subgraphs,
        signatures,
        metadata,
        description,
        version,
    })
}

/// Subgraph indices an op refers to.
fn control_flow_targets(op: &crate::graph::Op) -> Vec<usize> {
    match op {
        crate::graph::Op::While { cond, body } => vec![*cond, *body],
        crate::graph::Op::If {
            then_branch,
            else_branch,
        } => vec![*then_branch, *else_branch],
        _ => Vec::new(),
    }
}

fn read_buffers(bytes: &[u8], model: &Table) -> Result<Vec<Arc<[u8]>>> {
    model
        .tables(field::MODEL_BUFFERS, "Buffer")?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let offset = t.scalar::<u64>(field::BUFFER_OFFSET, 0)?;
            let size = t.scalar::<u64>(field::BUFFER_SIZE, 0)?;
            if offset > 1 {
                let end = offset.checked_add(size).filter(|&e| e <= bytes.len() as u64);
                return match end {
                    Some(end) => Ok(Arc::from(&bytes[offset as usize..end as usize])),
                    None => Err(Error::malformed(format!(
                        "buffer {i}: offset {offset} + size {size} is past the end of the {}-byte file",
                        bytes.len()
                    ))),
                };
            }
            Ok(Arc::from(t.bytes(field::BUFFER_DATA)?.unwrap_or(&[])))
        })
        .collect()
}

fn index(kind: &'static str, v: i64, len: usize, context: impl Fn() -> String) -> Result<usize> {
    if v >= 0 && (v as u64) < len as u64 {
        Ok(v as usize)
    } else {
        Err(Error::IndexOutOfRange {
            kind,
            index: v,
            len,
            context: context(),
        })
    }
}

fn read_subgraph(
    s: usize,
    table: &Table,
    buffers: &[Arc<[u8]>],
    opcodes: &[OperatorCode],
    limits: &LoadOptions,
    budget: &mut u64,
) -> Result<Subgraph> {
    let name = table.string(field::SUBGRAPH_NAME)?.unwrap_or_default();
    let tensors = table
        .tables(field::SUBGRAPH_TENSORS, "Tensor")?
        .iter()
        .enumerate()
        .map(|(t, tt)| read_tensor(s, t, tt, buffers, limits, budget))
        .collect::<Result<Vec<_>>>()?;
    let nt = tensors.len();
    let tensor_list = |id: usize, what: &str| -> Result<Vec<usize>> {
        table
            .scalars::<i32>(id)?
            .unwrap_or_default()
            .into_iter()
            .map(|v| index("tensor", v as i64, nt, || format!("subgraph {s} {what}")))
            .collect()
    };
    let inputs = tensor_list(field::SUBGRAPH_INPUTS, "inputs")?;
    let outputs = tensor_list(field::SUBGRAPH_OUTPUTS, "outputs")?;

    let mut nodes = Vec::new();
    for (n, op) in table
        .tables(field::SUBGRAPH_OPERATORS, "Operator")?
        .iter()
        .enumerate()
    {
        nodes.push(read_operator(s, n, op, opcodes, nt)?);
    }

    let mut tensors = tensors;
    resolve_block_scales(s, &mut tensors)?;
    mark_empty_constants(&mut tensors, &inputs, &outputs, &nodes);
    let mut available = vec![false; nt];
    for &t in &inputs {
        available[t] = true;
    }
    for (t, info) in tensors.iter().enumerate() {
        if info.is_constant() || info.is_variable {
            available[t] = true;
        }
    }
    let order = topological_order(s, &nodes, nt, &available)?;
    let nodes = order.into_iter().map(|i| nodes[i].clone()).collect();
    Ok(Subgraph {
        name,
        tensors,
        nodes,
        inputs,
        outputs,
    })
}

/// Zero-element tensors (a dimension of 0) that a node or the subgraph reads, that
/// no node writes and that are not subgraph inputs are constants with no data: a
/// converter stores them with an empty or absent buffer (an empty RESHAPE shape, an
/// empty SLICE begin), which cannot be told apart from "no buffer" by its bytes.
fn mark_empty_constants(
    tensors: &mut [TensorInfo],
    inputs: &[usize],
    outputs: &[usize],
    nodes: &[Node],
) {
    let mut written = vec![false; tensors.len()];
    let mut read = vec![false; tensors.len()];
    for node in nodes {
        for &t in &node.outputs {
            written[t] = true;
        }
        for t in node.inputs.iter().flatten().copied() {
            read[t] = true;
        }
    }
    for &t in outputs {
        read[t] = true;
    }
    for &t in inputs {
        written[t] = true;
    }
    for (t, info) in tensors.iter_mut().enumerate() {
        if read[t]
            && !written[t]
            && info.data.is_none()
            && !info.is_variable
            && info.sparsity.is_none()
            && info.shape.contains(&0)
        {
            info.data = Some(Arc::from(&[][..]));
        }
    }
}

/// Decode operator `n` of subgraph `s` into a node.
pub(super) fn read_operator(
    s: usize,
    n: usize,
    op: &Table,
    opcodes: &[OperatorCode],
    num_tensors: usize,
) -> Result<Node> {
    let ctx = |what: &str| format!("subgraph {s} operator {n} {what}");
    let oc = op.scalar::<u32>(field::OP_OPCODE_INDEX, 0)?;
    let oc = index("opcode", oc as i64, opcodes.len(), || ctx("opcode_index"))?;
    let inputs = op
        .scalars::<i32>(field::OP_INPUTS)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            if v == -1 {
                Ok(None)
            } else {
                index("tensor", v as i64, num_tensors, || ctx("inputs")).map(Some)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let outputs = op
        .scalars::<i32>(field::OP_OUTPUTS)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| index("tensor", v as i64, num_tensors, || ctx("outputs")))
        .collect::<Result<Vec<_>>>()?;
    let large_offset = op.scalar::<u64>(field::OP_LARGE_CUSTOM_OPTIONS_OFFSET, 0)?;
    let large_size = op.scalar::<u64>(field::OP_LARGE_CUSTOM_OPTIONS_SIZE, 0)?;
    if large_offset > 0 && large_size > 0 {
        return Err(Error::node(
            n,
            opcodes[oc]
                .custom
                .clone()
                .unwrap_or_else(|| super::codes::builtin_name(opcodes[oc].code)),
            "custom options stored outside the flatbuffer are not supported",
        ));
    }
    let raw = RawOp {
        node: n,
        code: opcodes[oc].code,
        custom_code: opcodes[oc].custom.clone(),
        version: opcodes[oc].version,
        options_type: op.scalar::<u8>(field::OP_BUILTIN_OPTIONS_TYPE, 0)?,
        options: op.table(field::OP_BUILTIN_OPTIONS, "BuiltinOptions")?,
        custom_options: op.bytes(field::OP_CUSTOM_OPTIONS)?,
    };
    Ok(Node {
        op: raw.decode()?,
        inputs,
        outputs,
    })
}

fn read_tensor(
    s: usize,
    t: usize,
    table: &Table,
    buffers: &[Arc<[u8]>],
    limits: &LoadOptions,
    budget: &mut u64,
) -> Result<TensorInfo> {
    let name = table.string(field::TENSOR_NAME)?.unwrap_or_default();
    let err = |what: String| Error::Tensor {
        index: t,
        name: name.clone(),
        what: format!("{what} (subgraph {s})"),
    };
    let code = table.scalar::<i8>(field::TENSOR_TYPE, 0)?;
    let dtype = DType::from_code(code).ok_or_else(|| err(format!("unknown type code {code}")))?;
    let raw_shape = table
        .scalars::<i32>(field::TENSOR_SHAPE)?
        .unwrap_or_default();
    if raw_shape.len() > limits.max_rank {
        return Err(err(format!(
            "rank {} is over the limit of {}",
            raw_shape.len(),
            limits.max_rank
        )));
    }
    let mut shape = Vec::with_capacity(raw_shape.len());
    for &d in &raw_shape {
        if d < 0 {
            // TFLite stores dynamic dimensions as -1 only in shape_signature; a negative
            // dimension here is malformed.
            return Err(err(format!(
                "negative dimension {d} in shape {raw_shape:?}"
            )));
        }
        shape.push(d as usize);
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| err(format!("shape {shape:?} has too many elements")))?;
    let bytes = elements.saturating_mul(dtype.size().unwrap_or(1) as u64);
    if bytes > limits.max_tensor_bytes {
        return Err(Error::MemoryLimit {
            what: format!("tensor {t} ({name}) of shape {shape:?}"),
            bytes,
            limit: limits.max_tensor_bytes,
        });
    }
    if bytes > *budget {
        return Err(Error::MemoryLimit {
            what: format!("the model's tensors up to tensor {t} ({name})"),
            bytes: limits.max_total_bytes - *budget + bytes,
            limit: limits.max_total_bytes,
        });
    }
    *budget -= bytes;

    let b = table.scalar::<u32>(field::TENSOR_BUFFER, 0)? as usize;
    let buffer = buffers.get(b).ok_or_else(|| Error::IndexOutOfRange {
        kind: "buffer",
        index: b as i64,
        len: buffers.len(),
        context: format!("subgraph {s} tensor {t} ({name})"),
    })?;
    let sparsity = match table.table(field::TENSOR_SPARSITY, "SparsityParameters")? {
        Some(sp) => Some(read_sparsity(&sp).map_err(|e| err(format!("sparsity: {e}")))?),
        None => None,
    };
    // Buffer 0 is the schema's empty sentinel: LiteRT never reads a tensor's data
    // from it, even when a converter left bytes there.
    let data = if b == 0 || buffer.is_empty() {
        None
    } else {
        if sparsity.is_none() && dtype.size().is_some() && buffer.len() as u64 != bytes {
            return Err(err(format!(
                "buffer {b} holds {} bytes but shape {shape:?} of {dtype} needs {bytes}",
                buffer.len()
            )));
        }
        // Two int4 elements per byte.
        if sparsity.is_none() && dtype == DType::Int4 && buffer.len() as u64 != elements.div_ceil(2)
        {
            return Err(err(format!(
                "buffer {b} holds {} bytes but shape {shape:?} of int4 needs {}",
                buffer.len(),
                elements.div_ceil(2)
            )));
        }
        Some(buffer.clone())
    };
    let quantization = match table.table(field::TENSOR_QUANTIZATION, "QuantizationParameters")? {
        Some(q) => read_quantization(&q, &shape).map_err(|e| match e {
            QuantParamsError::Format(e) => e,
            QuantParamsError::Invalid(what) => err(what),
        })?,
        None => None,
    };
    // An empty or absent signature means "the static shape" (LiteRT falls back to
    // the dims); one of another rank than the shape says nothing usable either.
    let shape_signature = table
        .scalars::<i32>(field::TENSOR_SHAPE_SIGNATURE)?
        .filter(|sig| !sig.is_empty() && sig.len() == shape.len());
    Ok(TensorInfo {
        name: name.clone(),
        dtype,
        shape,
        shape_signature,
        quantization,
        data,
        sparsity,
        is_variable: table.scalar::<bool>(field::TENSOR_IS_VARIABLE, false)?,
    })
}

/// Quantization parameters that cannot be read: the flatbuffer itself (the
/// error names the table and field), or values that do not fit the tensor.
#[derive(Debug, thiserror::Error)]
enum QuantParamsError {
    /// A table or vector of the parameters is malformed.
    #[error(transparent)]
    Format(#[from] Error),
    /// The values contradict each other or the tensor's shape.
    #[error("{0}")]
    Invalid(String),
}

fn read_quantization(
    q: &Table,
    shape: &[usize],
) -> std::result::Result<Option<Quantization>, QuantParamsError> {
    if q.scalar::<u8>(field::QUANT_DETAILS_TYPE, 0)? == BLOCKWISE_DETAILS {
        return read_blockwise(q, shape).map(Some);
    }
    let scale = q.scalars::<f32>(field::QUANT_SCALE)?.unwrap_or_default();
    if scale.is_empty() {
        return Ok(None);
    }
    let mut zero_point = q
        .scalars::<i64>(field::QUANT_ZERO_POINT)?
        .unwrap_or_default();
    if zero_point.is_empty() {
        zero_point = vec![0; scale.len()];
    }
    let axis = q.scalar::<i32>(field::QUANT_DIMENSION, 0)?;
    if zero_point.len() != scale.len() && zero_point.len() != 1 {
        return Err(QuantParamsError::Invalid(format!(
            "{} scales but {} zero points",
            scale.len(),
            zero_point.len()
        )));
    }
    if scale.len() > 1 {
        let axis_ok = usize::try_from(axis).ok().filter(|&a| a < shape.len());
        match axis_ok {
            Some(a) if shape[a] == scale.len() => {}
            _ => {
                return Err(QuantParamsError::Invalid(format!(
                "{} per-channel scales do not match quantized dimension {axis} of shape {shape:?}",
                scale.len()
            )))
            }
        }
    }
    if scale.iter().any(|s| !s.is_finite()) {
        return Err(QuantParamsError::Invalid(
            "non-finite quantization scale".into(),
        ));
    }
    Ok(Some(Quantization::per_channel(
        scale,
        zero_point,
        axis.max(0) as usize,
    )))
}

/// The `QuantizationDetails` union tag of `BlockwiseQuantization`.
const BLOCKWISE_DETAILS: u8 = 2;

/// Blockwise quantization details: the scales tensor and the block size (the
/// scales themselves are read by [`resolve_block_scales`] once every tensor of
/// the subgraph is known). Only symmetric blocks of a 2-D tensor whose depth the
/// block size divides are accepted.
fn read_blockwise(
    q: &Table,
    shape: &[usize],
) -> std::result::Result<Quantization, QuantParamsError> {
    let d = q
        .table(field::QUANT_DETAILS, "BlockwiseQuantization")?
        .ok_or_else(|| {
            QuantParamsError::Invalid("blockwise quantization without its details".into())
        })?;
    let scales = d.scalar::<i32>(0, -1)?;
    let zero_points = d.scalar::<i32>(1, -1)?;
    let size = d.scalar::<i32>(2, 0)?;
    let depth = match shape {
        [_, depth] => *depth,
        _ => {
            return Err(QuantParamsError::Invalid(format!(
                "blockwise quantization of a tensor of shape {shape:?} (2-D only)"
            )))
        }
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0 && depth % s == 0)
        .ok_or_else(|| {
            QuantParamsError::Invalid(format!(
                "block size {size} does not divide the depth {depth} of shape {shape:?}"
            ))
        })?;
    if zero_points >= 0 {
        return Err(QuantParamsError::Invalid(
            "blockwise zero points are not supported (symmetric blocks only)".into(),
        ));
    }
    let scales = usize::try_from(scales).map_err(|_| {
        QuantParamsError::Invalid(format!("blockwise scales tensor {scales} is not a tensor"))
    })?;
    Ok(Quantization {
        scale: Vec::new(),
        zero_point: vec![0],
        axis: 0,
        block: Some(Blockwise { size, scales }),
    })
}

/// Fill in the block scales of blockwise-quantized tensors from their float16
/// scales tensors, checked to hold one scale per block.
fn resolve_block_scales(s: usize, tensors: &mut [TensorInfo]) -> Result<()> {
    for t in 0..tensors.len() {
        let Some(block) = tensors[t].quantization.as_ref().and_then(|q| q.block) else {
            continue;
        };
        let info = &tensors[t];
        let blocks = info.num_elements() / block.size;
        let err = |what: String| Error::Tensor {
            index: t,
            name: info.name.clone(),
            what: format!("{what} (subgraph {s})"),
        };
        let scales = tensors.get(block.scales).ok_or_else(|| {
            err(format!(
                "blockwise scales tensor {} does not exist",
                block.scales
            ))
        })?;
        let values = match (scales.dtype, scales.data.as_deref()) {
            (DType::F16, Some(bytes)) if bytes.len() == 2 * blocks => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect::<Vec<f32>>(),
            _ => {
                return Err(err(format!(
                    "blockwise scales tensor {} must be a float16 constant of {blocks} elements",
                    block.scales
                )))
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(err("non-finite block scale".into()));
        }
        if let Some(q) = tensors[t].quantization.as_mut() {
            q.scale = values;
        }
    }
    Ok(())
}

fn read_index_vector(t: &Table, type_id: usize, value_id: usize) -> Result<Vec<u32>> {
    let tag = t.scalar::<u8>(type_id, 0)?;
    let Some(v) = t.table(value_id, "SparseIndexVector")? else {
        return Ok(Vec::new());
    };
    let values: Vec<u32> = match tag {
        1 => v
            .scalars::<i32>(field::INDEX_VECTOR_VALUES)?
            .unwrap_or_default()
            .into_iter()
            .map(|x| x.max(0) as u32)
            .collect(),
        2 => v
            .scalars::<u16>(field::INDEX_VECTOR_VALUES)?
            .unwrap_or_default()
            .into_iter()
            .map(u32::from)
            .collect(),
        3 => v
            .bytes(field::INDEX_VECTOR_VALUES)?
            .unwrap_or_default()
            .iter()
            .map(|&x| x as u32)
            .collect(),
        _ => {
            return Err(Error::malformed(format!(
                "unknown sparse index vector type {tag}"
            )))
        }
    };
    Ok(values)
}

fn read_sparsity(sp: &Table) -> Result<Sparsity> {
    let to_usize = |v: Vec<i32>| -> Result<Vec<usize>> {
        v.into_iter()
            .map(|x| {
                usize::try_from(x).map_err(|_| Error::malformed(format!("negative index {x}")))
            })
            .collect()
    };
    let traversal_order = to_usize(
        sp.scalars::<i32>(field::SPARSITY_TRAVERSAL_ORDER)?
            .unwrap_or_default(),
    )?;
    let block_map = to_usize(
        sp.scalars::<i32>(field::SPARSITY_BLOCK_MAP)?
            .unwrap_or_default(),
    )?;
    let dim_metadata = sp
        .tables(field::SPARSITY_DIM_METADATA, "DimensionMetadata")?
        .iter()
        .map(|d| {
            Ok(match d.scalar::<i8>(field::DIM_FORMAT, 0)? {
                0 => DimensionMetadata::Dense(
                    d.scalar::<i32>(field::DIM_DENSE_SIZE, 0)?.max(0) as usize
                ),
                1 => DimensionMetadata::Sparse {
                    segments: read_index_vector(d, field::DIM_SEGMENTS_TYPE, field::DIM_SEGMENTS)?,
                    indices: read_index_vector(d, field::DIM_INDICES_TYPE, field::DIM_INDICES)?,
                },
                f => return Err(Error::malformed(format!("unknown dimension format {f}"))),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if dim_metadata.len() != traversal_order.len() {
        return Err(Error::malformed(format!(
            "{} dimension metadata for a traversal order of {}",
            dim_metadata.len(),
            traversal_order.len()
        )));
    }
    Ok(Sparsity {
        traversal_order,
        block_map,
        dim_metadata,
    })
}

fn read_signature(t: &Table, subgraphs: &[Subgraph]) -> Result<Signature> {
    let key = t.string(field::SIGNATURE_KEY)?.unwrap_or_default();
    let sg = t.scalar::<u32>(field::SIGNATURE_SUBGRAPH, 0)? as usize;
    let sgi = index("subgraph", sg as i64, subgraphs.len(), || {
        format!("signature \"{key}\"")
    })?;
    let nt = subgraphs[sgi].tensors.len();
    let maps = |id: usize| -> Result<Vec<(String, usize)>> {
        t.tables(id, "TensorMap")?
            .iter()
            .map(|m| {
                let name = m.string(field::TENSOR_MAP_NAME)?.unwrap_or_default();
                let ti = m.scalar::<u32>(field::TENSOR_MAP_INDEX, 0)?;
                let ti = index("tensor", ti as i64, nt, || {
                    format!("signature \"{key}\" entry \"{name}\"")
                })?;
                Ok((name, ti))
            })
            .collect()
    };
    Ok(Signature {
        inputs: maps(field::SIGNATURE_INPUTS)?,
        outputs: maps(field::SIGNATURE_OUTPUTS)?,
        key: key.clone(),
        subgraph: sgi,
    })
}
