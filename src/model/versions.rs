//! Operator versions that follow from tensor types: the version the TFLite
//! converter's op-versioning rules give an op whose activations are int16, and the
//! option fields that go with it. The writer raises an operator's version to this
//! one when it is lower (as the converter's own version update does), which happens
//! when an op's tensors changed type since it was read (a quantizer's output) or
//! when the op is encoded from the IR.
//!
//! ADD and SUB with int16 activations also get `pot_scale_int16 = false`: the
//! general int16 kernel, which rescales any scales (the schema default selects the
//! power-of-two-scale kernel when every scale is a power of two), the form this
//! crate's kernels compute.

use super::codes::{code, options_tag};
use super::stored::{id, Fields, Value};
use crate::graph::{DType, Node, Subgraph};

/// The lowest version the converter's op-versioning rules (op_version.cc) give
/// `node` (of builtin `code`) with its tensors' current types, where int16
/// activations raise it; None otherwise.
pub(super) fn int16_version(code: i32, node: &Node, sg: &Subgraph) -> Option<i32> {
    let dtype = |t: Option<usize>| t.and_then(|t| sg.tensors.get(t)).map(|t| t.dtype);
    let rank = node
        .input(0)
        .and_then(|t| sg.tensors.get(t))
        .map_or(0, |t| t.shape.len());
    let in0 = dtype(node.input(0));
    let in1 = dtype(node.input(1));
    let out0 = dtype(node.outputs.first().copied());
    let i16_in = in0 == Some(DType::I16);
    let i16_both = i16_in && out0 == Some(DType::I16);
    let v = match code {
        // op_version.cc's checks for these three look for int16 weights and never
        // match the 16x8 form; these are the versions that introduced the 16x8
        // kernels (TF 2.3 in runtime_version.cc).
        code::CONV_2D if i16_both && in1 == Some(DType::I8) => 4,
        code::DEPTHWISE_CONV_2D if i16_both && in1 == Some(DType::I8) => 5,
        code::FULLY_CONNECTED if i16_both && in1 == Some(DType::I8) => 7,
        code::ADD if i16_both => 3,
        code::SUB if i16_both => 5,
        code::MUL if i16_in => 4,
        code::AVERAGE_POOL_2D | code::MAX_POOL_2D if i16_both => 3,
        code::TRANSPOSE if i16_in => {
            if rank > 5 {
                6
            } else {
                5
            }
        }
        code::DEQUANTIZE if i16_in => 3,
        code::QUANTIZE if out0 == Some(DType::I16) => 2,
        code::RELU if i16_in => 3,
        code::LEAKY_RELU if i16_in => 2,
        code::RESIZE_BILINEAR | code::RESIZE_NEAREST_NEIGHBOR if i16_in => 4,
        code::MAXIMUM | code::MINIMUM if i16_both => 4,
        code::SPACE_TO_BATCH_ND | code::BATCH_TO_SPACE_ND if i16_in => 4,
        code::TANH | code::LOGISTIC if i16_both => 3,
        code::PAD | code::PADV2 if i16_in => {
            if rank > 4 {
                4
            } else {
                3
            }
        }
        code::CONCATENATION | code::SOFTMAX if i16_in => 3,
        code::MEAN | code::REDUCE_MAX | code::REDUCE_MIN | code::RELU6 if i16_in => 3,
        code::SLICE if i16_in => 4,
        code::GATHER if in1 == Some(DType::I16) => 6,
        code::GATHER if i16_in => 4,
        code::SPLIT if in1 == Some(DType::I16) => 4,
        code::UNPACK if i16_both => 4,
        code::PACK if i16_both => 3,
        _ => return None,
    };
    Some(v)
}

/// Raise `version` (of an operator of builtin `code` storing `fields`) to what the
/// int16 types of `node` require, and select the general int16 kernel of ADD and
/// SUB when the version rises.
pub(super) fn apply_int16(
    code: i32,
    node: &Node,
    sg: &Subgraph,
    version: &mut i32,
    fields: &mut Fields,
) {
    let Some(v) = int16_version(code, node, sg) else {
        return;
    };
    if *version >= v {
        return;
    }
    *version = v;
    if matches!(code, code::ADD | code::SUB) {
        // AddOptions and SubOptions: field 1 is pot_scale_int16.
        set_option(
            fields,
            options_tag(code),
            1,
            Value::Scalar { size: 1, bits: 0 },
        );
    }
}

/// Set field `field` of the builtin options table (of union tag `tag`) in
/// `fields`, adding the table when the operator has none.
fn set_option(fields: &mut Fields, tag: u8, field: usize, value: Value) {
    if !fields.iter().any(|(i, _)| *i == id::OPTIONS) {
        fields.push((
            id::OPTIONS_TYPE,
            Value::Scalar {
                size: 1,
                bits: tag as u64,
            },
        ));
        fields.push((id::OPTIONS, Value::Table(Vec::new())));
        fields.sort_by_key(|(i, _)| *i);
    }
    for (i, v) in fields.iter_mut() {
        if *i != id::OPTIONS {
            continue;
        }
        if let Value::Table(table) = v {
            table.retain(|(f, _)| *f != field);
            table.push((field, value.clone()));
            table.sort_by_key(|(f, _)| *f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Activation, Binary};
    use crate::graph::{Op, TensorInfo};

    fn add(dtype: DType) -> (Node, Subgraph) {
        let sg = Subgraph {
            tensors: (0..3)
                .map(|i| TensorInfo::new(format!("t{i}"), dtype, vec![1, 4]))
                .collect(),
            ..Default::default()
        };
        let node = Node {
            op: Op::Binary(Binary::Add, Activation::None),
            inputs: vec![Some(0), Some(1)],
            outputs: vec![2],
        };
        (node, sg)
    }

    #[test]
    fn int16_add_gets_version_3_and_the_general_kernel() {
        let (node, sg) = add(DType::I16);
        let mut version = 1;
        let mut fields = Fields::new();
        apply_int16(code::ADD, &node, &sg, &mut version, &mut fields);
        assert_eq!(version, 3);
        let table = fields.iter().find(|(i, _)| *i == id::OPTIONS).unwrap();
        assert_eq!(
            table.1,
            Value::Table(vec![(1, Value::Scalar { size: 1, bits: 0 })])
        );
        // A float or int8 ADD keeps what it has.
        for dtype in [DType::F32, DType::I8] {
            let (node, sg) = add(dtype);
            let mut version = 1;
            let mut fields = Fields::new();
            apply_int16(code::ADD, &node, &sg, &mut version, &mut fields);
            assert_eq!((version, fields.len()), (1, 0));
        }
    }
}
