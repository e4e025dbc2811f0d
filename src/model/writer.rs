//! Writing the IR back to a `.tflite` FlatBuffer that LiteRT loads.

use super::codes::{builtin_code, code, options_tag, tag};
use super::options_mediapipe::encode_mediapipe;
use super::reader::FILE_IDENTIFIER;
use crate::error::{Error, Result};
use crate::graph::op::*;
use crate::graph::{Graph, Op, TensorInfo};
use flatbuffers::{FlatBufferBuilder, WIPOffset};

/// One field of an options table.
enum Field {
    I8(usize, i8),
    I32(usize, i32),
    F32(usize, f32),
    Bool(usize, bool),
    Ints(usize, Vec<i32>),
}

/// How one op is stored: builtin code, custom code, options union tag and option
/// fields.
struct Encoded {
    code: i32,
    custom: Option<String>,
    tag: u8,
    fields: Vec<Field>,
    /// FlexBuffers custom options and the operator code's version (custom ops).
    custom_options: Option<(Vec<u8>, i32)>,
}

/// An op stored without an options table.
fn plain(code: i32) -> Encoded {
    Encoded {
        code,
        custom: None,
        tag: tag::NONE,
        fields: Vec::new(),
        custom_options: None,
    }
}

/// An op stored with these fields in the options table the builtin table names.
fn options(code: i32, fields: Vec<Field>) -> Encoded {
    Encoded {
        code,
        custom: None,
        tag: options_tag(code),
        fields,
        custom_options: None,
    }
}

/// An op this crate has no kernel for, stored under its name: a builtin name as
/// that builtin without options, anything else as a custom op without options.
fn unknown(name: &str) -> Encoded {
    let numbered = name
        .strip_prefix("BUILTIN_")
        .and_then(|c| c.parse::<i32>().ok());
    match builtin_code(name).or(numbered) {
        Some(c) => plain(c),
        None => Encoded {
            code: code::CUSTOM,
            custom: Some(name.to_string()),
            tag: tag::NONE,
            fields: Vec::new(),
            custom_options: None,
        },
    }
}

fn encode(op: &Op) -> Option<Encoded> {
    use Field::*;
    let with = |code, fields| Some(options(code, fields));
    match op {
        Op::Unary(u) => Some(match u {
            Unary::Abs => plain(code::ABS),
            Unary::Neg => plain(code::NEG),
            Unary::Exp => plain(code::EXP),
            Unary::Log => plain(code::LOG),
            Unary::Sqrt => plain(code::SQRT),
            Unary::Rsqrt => plain(code::RSQRT),
            Unary::Square => plain(code::SQUARE),
            Unary::Sin => plain(code::SIN),
            Unary::Cos => plain(code::COS),
            Unary::Floor => plain(code::FLOOR),
            Unary::Ceil => plain(code::CEIL),
            Unary::Round => plain(code::ROUND),
            Unary::Sign => plain(code::SIGN),
            Unary::Relu => plain(code::RELU),
            Unary::Relu6 => plain(code::RELU6),
            Unary::ReluN1To1 => plain(code::RELU_N1_TO_1),
            Unary::Relu0To1 => plain(code::RELU_0_TO_1),
            Unary::Logistic => plain(code::LOGISTIC),
            Unary::Tanh => plain(code::TANH),
            Unary::HardSwish => plain(code::HARD_SWISH),
            Unary::Elu => plain(code::ELU),
            Unary::LogicalNot => plain(code::LOGICAL_NOT),
            Unary::Gelu { approximate } => options(code::GELU, vec![Bool(0, *approximate)]),
            Unary::LeakyRelu { alpha } => options(code::LEAKY_RELU, vec![F32(0, *alpha)]),
        }),
        Op::Binary(b, act) => {
            let act = vec![I8(0, act.code())];
            Some(match b {
                Binary::Add => options(code::ADD, act),
                Binary::Sub => options(code::SUB, act),
                Binary::Mul => options(code::MUL, act),
                Binary::Div => options(code::DIV, act),
                Binary::Maximum => plain(code::MAXIMUM),
                Binary::Minimum => plain(code::MINIMUM),
                Binary::SquaredDifference => plain(code::SQUARED_DIFFERENCE),
                Binary::Pow => plain(code::POW),
                Binary::FloorDiv => plain(code::FLOOR_DIV),
                Binary::FloorMod => plain(code::FLOOR_MOD),
                Binary::Less => plain(code::LESS),
                Binary::LessEqual => plain(code::LESS_EQUAL),
                Binary::Greater => plain(code::GREATER),
                Binary::GreaterEqual => plain(code::GREATER_EQUAL),
                Binary::Equal => plain(code::EQUAL),
                Binary::NotEqual => plain(code::NOT_EQUAL),
                Binary::LogicalAnd => plain(code::LOGICAL_AND),
                Binary::LogicalOr => plain(code::LOGICAL_OR),
            })
        }
        Op::Conv2D(c) => with(
            code::CONV_2D,
            vec![
                I8(0, c.padding.schema_code()),
                I32(1, c.stride_w as i32),
                I32(2, c.stride_h as i32),
                I8(3, c.activation.code()),
                I32(4, c.dilation_w as i32),
                I32(5, c.dilation_h as i32),
            ],
        ),
        Op::DepthwiseConv2D(c) => with(
            code::DEPTHWISE_CONV_2D,
            vec![
                I8(0, c.padding.schema_code()),
                I32(1, c.stride_w as i32),
                I32(2, c.stride_h as i32),
                I32(3, c.depth_multiplier as i32),
                I8(4, c.activation.code()),
                I32(5, c.dilation_w as i32),
                I32(6, c.dilation_h as i32),
            ],
        ),
        Op::TransposeConv(c) => with(
            code::TRANSPOSE_CONV,
            vec![
                I8(0, c.padding.schema_code()),
                I32(1, c.stride_w as i32),
                I32(2, c.stride_h as i32),
                I8(3, c.activation.code()),
            ],
        ),
        Op::AveragePool2D(p) | Op::MaxPool2D(p) | Op::L2Pool2D(p) => with(
            match op {
                Op::AveragePool2D(_) => code::AVERAGE_POOL_2D,
                Op::MaxPool2D(_) => code::MAX_POOL_2D,
                _ => code::L2_POOL_2D,
            },
            vec![
                I8(0, p.padding.schema_code()),
                I32(1, p.stride_w as i32),
                I32(2, p.stride_h as i32),
                I32(3, p.filter_w as i32),
                I32(4, p.filter_h as i32),
                I8(5, p.activation.code()),
            ],
        ),
        Op::FullyConnected(f) => with(
            code::FULLY_CONNECTED,
            vec![
                I8(0, f.activation.code()),
                Bool(2, f.keep_num_dims),
                Bool(3, f.asymmetric_quantize_inputs),
            ],
        ),
        Op::BatchMatMul {
            adj_x,
            adj_y,
            asymmetric_quantize_inputs,
        } => with(
            code::BATCH_MATMUL,
            vec![
                Bool(0, *adj_x),
                Bool(1, *adj_y),
                Bool(2, *asymmetric_quantize_inputs),
            ],
        ),
        Op::Reduce { kind, keep_dims } => with(
            match kind {
                Reduce::Mean => code::MEAN,
                Reduce::Sum => code::SUM,
                Reduce::Max => code::REDUCE_MAX,
                Reduce::Min => code::REDUCE_MIN,
                Reduce::Prod => code::REDUCE_PROD,
                Reduce::Any => code::REDUCE_ANY,
                Reduce::All => code::REDUCE_ALL,
            },
            vec![Bool(0, *keep_dims)],
        ),
        Op::Softmax { beta } => with(code::SOFTMAX, vec![F32(0, *beta)]),
        Op::LogSoftmax => Some(plain(code::LOG_SOFTMAX)),
        Op::Prelu => Some(plain(code::PRELU)),
        Op::Reshape { new_shape } => Some(match new_shape {
            Some(s) => options(code::RESHAPE, vec![Ints(0, s.clone())]),
            None => plain(code::RESHAPE),
        }),
        Op::Squeeze { axes } => with(code::SQUEEZE, vec![Ints(0, axes.clone())]),
        Op::ExpandDims => Some(plain(code::EXPAND_DIMS)),
        Op::Concatenation { axis, activation } => with(
            code::CONCATENATION,
            vec![I32(0, *axis), I8(1, activation.code())],
        ),
        Op::Split { num_splits } => with(code::SPLIT, vec![I32(0, *num_splits as i32)]),
        Op::SplitV { num_splits } => with(code::SPLIT_V, vec![I32(0, *num_splits as i32)]),
        Op::Slice => Some(plain(code::SLICE)),
        Op::StridedSlice(s) => with(
            code::STRIDED_SLICE,
            vec![
                I32(0, s.begin_mask),
                I32(1, s.end_mask),
                I32(2, s.ellipsis_mask),
                I32(3, s.new_axis_mask),
                I32(4, s.shrink_axis_mask),
                Bool(5, s.offset),
            ],
        ),
        Op::Transpose => Some(plain(code::TRANSPOSE)),
        Op::Gather { axis, batch_dims } => {
            with(code::GATHER, vec![I32(0, *axis), I32(1, *batch_dims)])
        }
        Op::Tile => Some(plain(code::TILE)),
        Op::Pack { axis } => with(code::PACK, vec![I32(1, *axis)]),
        Op::Unpack { axis, num } => with(code::UNPACK, vec![I32(0, *num as i32), I32(1, *axis)]),
        Op::Pad => Some(plain(code::PAD)),
        Op::PadV2 => Some(plain(code::PADV2)),
        Op::MirrorPad { symmetric } => with(code::MIRROR_PAD, vec![I8(0, *symmetric as i8)]),
        Op::ResizeBilinear(r) => with(
            code::RESIZE_BILINEAR,
            vec![Bool(2, r.align_corners), Bool(3, r.half_pixel_centers)],
        ),
        Op::ResizeNearestNeighbor(r) => with(
            code::RESIZE_NEAREST_NEIGHBOR,
            vec![Bool(0, r.align_corners), Bool(1, r.half_pixel_centers)],
        ),
        Op::DepthToSpace { block_size } => {
            with(code::DEPTH_TO_SPACE, vec![I32(0, *block_size as i32)])
        }
        Op::SpaceToDepth { block_size } => {
            with(code::SPACE_TO_DEPTH, vec![I32(0, *block_size as i32)])
        }
        Op::Cumsum { exclusive, reverse } => {
            with(code::CUMSUM, vec![Bool(0, *exclusive), Bool(1, *reverse)])
        }
        Op::ArgMax { output_type } => with(code::ARG_MAX, vec![I8(0, output_type.code())]),
        Op::ArgMin { output_type } => with(code::ARG_MIN, vec![I8(0, output_type.code())]),
        Op::Cast => Some(plain(code::CAST)),
        Op::Select => Some(plain(code::SELECT)),
        Op::SelectV2 => Some(plain(code::SELECT_V2)),
        Op::Quantize => Some(plain(code::QUANTIZE)),
        Op::Dequantize => Some(plain(code::DEQUANTIZE)),
        Op::Shape { out_type } => with(code::SHAPE, vec![I8(0, out_type.code())]),
        Op::Fill => Some(plain(code::FILL)),
        Op::ZerosLike => Some(plain(code::ZEROS_LIKE)),
        Op::Range => Some(plain(code::RANGE)),
        Op::ReverseV2 => Some(plain(code::REVERSE_V2)),
        Op::GatherNd => Some(plain(code::GATHER_ND)),
        Op::BroadcastTo => Some(plain(code::BROADCAST_TO)),
        Op::L2Normalization(a) => with(code::L2_NORMALIZATION, vec![I8(0, a.code())]),
        Op::While { cond, body } => with(
            code::WHILE,
            vec![I32(0, *cond as i32), I32(1, *body as i32)],
        ),
        Op::DetectionPostProcess(p) => Some(Encoded {
            code: code::CUSTOM,
            custom: Some(DetectionPostProcess::CUSTOM_CODE.into()),
            tag: tag::NONE,
            fields: Vec::new(),
            custom_options: Some((super::detection::encode(p), 1)),
        }),
        Op::NonMaxSuppressionV4 => Some(plain(code::NON_MAX_SUPPRESSION_V4)),
        Op::NonMaxSuppressionV5 => Some(plain(code::NON_MAX_SUPPRESSION_V5)),
        Op::Unknown { name } => Some(unknown(name)),
        Op::MediaPipe(m) => Some(Encoded {
            custom_options: Some((encode_mediapipe(m), m.version())),
            ..unknown(m.name())
        }),
        _ => None,
    }
}

type Offset = WIPOffset<flatbuffers::TableFinishedWIPOffset>;

fn slot(id: usize) -> u16 {
    (4 + 2 * id) as u16
}

fn options_table(fbb: &mut FlatBufferBuilder, fields: &[Field]) -> Offset {
    let vectors: Vec<Option<WIPOffset<_>>> = fields
        .iter()
        .map(|f| match f {
            Field::Ints(_, v) => Some(fbb.create_vector(v)),
            _ => None,
        })
        .collect();
    let start = fbb.start_table();
    for (f, v) in fields.iter().zip(vectors) {
        match f {
            Field::I8(id, x) => fbb.push_slot_always::<i8>(slot(*id), *x),
            Field::I32(id, x) => fbb.push_slot_always::<i32>(slot(*id), *x),
            Field::F32(id, x) => fbb.push_slot_always::<f32>(slot(*id), *x),
            Field::Bool(id, x) => fbb.push_slot_always::<bool>(slot(*id), *x),
            Field::Ints(id, _) => {
                if let Some(v) = v {
                    fbb.push_slot_always(slot(*id), v);
                }
            }
        }
    }
    fbb.end_table(start)
}

fn tensor_table(fbb: &mut FlatBufferBuilder, t: &TensorInfo, buffer: u32) -> Offset {
    let shape: Vec<i32> = t.shape.iter().map(|&d| d as i32).collect();
    let shape = fbb.create_vector(&shape);
    let name = fbb.create_string(&t.name);
    let quant = t.quantization.as_ref().map(|q| {
        let scale = fbb.create_vector(&q.scale);
        let zp = fbb.create_vector(&q.zero_point);
        let start = fbb.start_table();
        fbb.push_slot_always(slot(2), scale);
        fbb.push_slot_always(slot(3), zp);
        fbb.push_slot_always::<i32>(slot(6), q.axis as i32);
        fbb.end_table(start)
    });
    let signature = t.shape_signature.as_ref().map(|s| fbb.create_vector(s));
    let start = fbb.start_table();
    fbb.push_slot_always(slot(0), shape);
    fbb.push_slot_always::<i8>(slot(1), t.dtype.code());
    fbb.push_slot_always::<u32>(slot(2), buffer);
    fbb.push_slot_always(slot(3), name);
    if let Some(q) = quant {
        fbb.push_slot_always(slot(4), q);
    }
    if t.is_variable {
        fbb.push_slot_always::<bool>(slot(5), true);
    }
    if let Some(s) = signature {
        fbb.push_slot_always(slot(7), s);
    }
    fbb.end_table(start)
}

/// Serialize a graph to `.tflite` bytes (schema version 3, identifier "TFL3").
///
/// Sparse constants and ops without an encoder here give an error naming the node.
pub fn write(graph: &Graph) -> Result<Vec<u8>> {
    let mut fbb = FlatBufferBuilder::with_capacity(1 << 16);
    let mut opcodes: Vec<(i32, Option<String>, i32)> = Vec::new();
    let mut buffers: Vec<Offset> = Vec::new();
    let empty = {
        let start = fbb.start_table();
        fbb.end_table(start)
    };
    buffers.push(empty);

    let mut subgraphs = Vec::new();
    for (s, sg) in graph.subgraphs.iter().enumerate() {
        let mut tensors = Vec::new();
        for (t, info) in sg.tensors.iter().enumerate() {
            if info.sparsity.is_some() {
                return Err(Error::Tensor {
                    index: t,
                    name: info.name.clone(),
                    what: "the writer does not store sparse tensors".into(),
                });
            }
            let buffer = match &info.data {
                Some(data) => {
                    let bytes = fbb.create_vector(data);
                    let start = fbb.start_table();
                    fbb.push_slot_always(slot(0), bytes);
                    buffers.push(fbb.end_table(start));
                    (buffers.len() - 1) as u32
                }
                None => 0,
            };
            tensors.push(tensor_table(&mut fbb, info, buffer));
        }
        let mut operators = Vec::new();
        for (n, node) in sg.nodes.iter().enumerate() {
            let enc = encode(&node.op).ok_or_else(|| {
                Error::node(
                    n,
                    node.op.name(),
                    format!("the writer cannot store this op (subgraph {s})"),
                )
            })?;
            let version = enc.custom_options.as_ref().map_or(1, |(_, v)| *v);
            let key = (enc.code, enc.custom.clone(), version);
            let oc = match opcodes.iter().position(|c| *c == key) {
                Some(i) => i,
                None => {
                    opcodes.push(key);
                    opcodes.len() - 1
                }
            };
            let inputs: Vec<i32> = node
                .inputs
                .iter()
                .map(|i| i.map_or(-1, |i| i as i32))
                .collect();
            let outputs: Vec<i32> = node.outputs.iter().map(|&o| o as i32).collect();
            let inputs = fbb.create_vector(&inputs);
            let outputs = fbb.create_vector(&outputs);
            let opts = (enc.tag != 0).then(|| options_table(&mut fbb, &enc.fields));
            let custom_options = enc
                .custom_options
                .as_ref()
                .map(|(bytes, _)| fbb.create_vector(bytes));
            let start = fbb.start_table();
            fbb.push_slot_always::<u32>(slot(0), oc as u32);
            fbb.push_slot_always(slot(1), inputs);
            fbb.push_slot_always(slot(2), outputs);
            if let Some(o) = opts {
                fbb.push_slot_always::<u8>(slot(3), enc.tag);
                fbb.push_slot_always(slot(4), o);
            }
            if let Some(c) = custom_options {
                fbb.push_slot_always(slot(5), c);
            }
            operators.push(fbb.end_table(start));
        }
        let tensors = fbb.create_vector(&tensors);
        let inputs: Vec<i32> = sg.inputs.iter().map(|&i| i as i32).collect();
        let outputs: Vec<i32> = sg.outputs.iter().map(|&i| i as i32).collect();
        let inputs = fbb.create_vector(&inputs);
        let outputs = fbb.create_vector(&outputs);
        let operators = fbb.create_vector(&operators);
        let name = fbb.create_string(&sg.name);
        let start = fbb.start_table();
        fbb.push_slot_always(slot(0), tensors);
        fbb.push_slot_always(slot(1), inputs);
        fbb.push_slot_always(slot(2), outputs);
        fbb.push_slot_always(slot(3), operators);
        fbb.push_slot_always(slot(4), name);
        subgraphs.push(fbb.end_table(start));
    }

    let opcode_tables: Vec<Offset> = opcodes
        .iter()
        .map(|(c, custom, version)| {
            let c = *c;
            let custom = custom.as_ref().map(|name| fbb.create_string(name));
            let start = fbb.start_table();
            fbb.push_slot_always::<i8>(slot(0), c.min(127) as i8);
            if let Some(name) = custom {
                fbb.push_slot_always(slot(1), name);
            }
            fbb.push_slot_always::<i32>(slot(2), *version);
            fbb.push_slot_always::<i32>(slot(3), c);
            fbb.end_table(start)
        })
        .collect();
    let opcode_vec = fbb.create_vector(&opcode_tables);
    let subgraph_vec = fbb.create_vector(&subgraphs);
    let buffer_vec = fbb.create_vector(&buffers);
    let description = fbb.create_string(if graph.description.is_empty() {
        "tflite-wgpu"
    } else {
        &graph.description
    });
    let start = fbb.start_table();
    fbb.push_slot_always::<u32>(slot(0), 3);
    fbb.push_slot_always(slot(1), opcode_vec);
    fbb.push_slot_always(slot(2), subgraph_vec);
    fbb.push_slot_always(slot(3), description);
    fbb.push_slot_always(slot(4), buffer_vec);
    let root = fbb.end_table(start);
    let ident = std::str::from_utf8(FILE_IDENTIFIER).unwrap_or("TFL3");
    fbb.finish(root, Some(ident));
    Ok(fbb.finished_data().to_vec())
}
