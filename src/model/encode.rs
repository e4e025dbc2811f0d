//! Encoding an op of the IR as a `.tflite` operator, with every option field the
//! schema gives it that the IR or the node determines (PACK's `values_count` from
//! its inputs, CAST's types from its tensors, ...). The writer uses it for
//! operators that are new or changed; unchanged ones keep their stored fields.

use super::codes::{builtin_code, code, options_tag, tag};
use super::options_mediapipe::encode_mediapipe;
use super::stored::{id, Fields, Value};
use crate::graph::op::*;
use crate::graph::{Node, Op, Subgraph};

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
pub(super) struct Encoded {
    /// The builtin code.
    pub code: i32,
    /// The custom code of CUSTOM ops.
    pub custom: Option<String>,
    tag: u8,
    fields: Vec<Field>,
    /// Custom options and the operator code's version (custom ops).
    custom_options: Option<(Vec<u8>, i32)>,
}

impl Encoded {
    /// The operator code's version.
    /// The lowest version LiteRT registers for the op: 1, except BROADCAST_TO
    /// (its version 1 was never a kernel).
    pub fn version(&self) -> i32 {
        match (&self.custom_options, self.code) {
            (Some((_, v)), _) => *v,
            (None, code::BROADCAST_TO) => 2,
            (None, _) => 1,
        }
    }

    /// The operator table's fields from `builtin_options_type` on.
    pub fn fields(&self) -> Fields {
        let mut out = Fields::new();
        if self.tag != tag::NONE {
            let scalar = |size, bits| Value::Scalar { size, bits };
            let options = self
                .fields
                .iter()
                .map(|f| match f {
                    Field::I8(i, x) => (*i, scalar(1, *x as u8 as u64)),
                    Field::I32(i, x) => (*i, scalar(4, *x as u32 as u64)),
                    Field::F32(i, x) => (*i, scalar(4, x.to_bits() as u64)),
                    Field::Bool(i, x) => (*i, scalar(1, *x as u64)),
                    Field::Ints(i, v) => (
                        *i,
                        Value::Vector {
                            elem: 4,
                            bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                        },
                    ),
                })
                .collect();
            out.push((id::OPTIONS_TYPE, scalar(1, self.tag as u64)));
            out.push((id::OPTIONS, Value::Table(options)));
        }
        if let Some((bytes, _)) = &self.custom_options {
            out.push((
                id::CUSTOM_OPTIONS,
                Value::Vector {
                    elem: 1,
                    bytes: bytes.clone(),
                },
            ));
        }
        out
    }
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

/// An op stored with these fields in the options table of union tag `tag` (for
/// ops whose options this crate does not read back).
fn options_as(code: i32, tag: u8, fields: Vec<Field>) -> Encoded {
    Encoded {
        tag,
        ..options(code, fields)
    }
}

/// A MediaPipe custom op whose options are a C parameter struct of int32 fields.
fn c_struct(name: &str, words: &[i32]) -> Encoded {
    Encoded {
        code: code::CUSTOM,
        custom: Some(name.into()),
        tag: tag::NONE,
        fields: Vec::new(),
        custom_options: Some((words.iter().flat_map(|w| w.to_le_bytes()).collect(), 1)),
    }
}

/// The C API's `TfLitePadding` (1 SAME, 2 VALID).
fn c_padding(p: Padding) -> i32 {
    p.schema_code() as i32 + 1
}

/// `TfLitePoolParams` (the computed paddings zero).
fn c_pool(p: &Pool2D) -> [i32; 10] {
    [
        c_padding(p.padding),
        p.stride_w as i32,
        p.stride_h as i32,
        p.filter_w as i32,
        p.filter_h as i32,
        p.activation.code() as i32,
        0,
        0,
        0,
        0,
    ]
}

/// How `node` of `sg` is stored, or None for ops that exist only inside this crate
/// (the halves of a split detection post-process).
pub(super) fn encode(node: &Node, sg: &Subgraph) -> Option<Encoded> {
    use Field::*;
    let with = |code, fields| Some(options(code, fields));
    let dtype = |t: Option<usize>| {
        t.and_then(|t| sg.tensors.get(t))
            .map_or(0, |t| t.dtype.code())
    };
    let op = &node.op;
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
        Op::Pack { axis } => with(
            code::PACK,
            vec![I32(0, node.inputs.len() as i32), I32(1, *axis)],
        ),
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
        Op::Cast => Some(options_as(
            code::CAST,
            CAST_OPTIONS,
            vec![
                I8(0, dtype(node.input(0))),
                I8(1, dtype(node.outputs.first().copied())),
            ],
        )),
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
        Op::LocalResponseNormalization(l) => with(
            code::LOCAL_RESPONSE_NORMALIZATION,
            vec![
                I32(0, l.radius),
                F32(1, l.bias),
                F32(2, l.alpha),
                F32(3, l.beta),
            ],
        ),
        Op::OneHot { axis } => with(code::ONE_HOT, vec![I32(0, *axis)]),
        Op::UnidirectionalSequenceLstm(l) => with(
            code::UNIDIRECTIONAL_SEQUENCE_LSTM,
            vec![
                I8(0, l.activation.code()),
                F32(1, l.cell_clip),
                F32(2, l.proj_clip),
                Bool(3, l.time_major),
                Bool(4, l.asymmetric_quantize_inputs),
            ],
        ),
        Op::If {
            then_branch,
            else_branch,
        } => with(
            code::IF,
            vec![I32(0, *then_branch as i32), I32(1, *else_branch as i32)],
        ),
        Op::TransposeConvBias(c) => Some(c_struct(
            op.name(),
            &[
                c_padding(c.padding),
                c.stride_w as i32,
                c.stride_h as i32,
                c.activation.code() as i32,
                0,
            ],
        )),
        Op::MaxPoolWithArgmax(p) | Op::MaxUnpooling(p) => Some(c_struct(op.name(), &c_pool(p))),
        Op::ScatterNd => Some(plain(code::SCATTER_ND)),
        Op::BatchToSpaceNd => Some(plain(code::BATCH_TO_SPACE_ND)),
        Op::SpaceToBatchNd => Some(plain(code::SPACE_TO_BATCH_ND)),
        Op::Densify => Some(plain(code::DENSIFY)),
        Op::Rank => Some(plain(code::RANK)),
        Op::TopKV2 => Some(plain(code::TOPK_V2)),
        Op::BroadcastArgs => Some(plain(code::BROADCAST_ARGS)),
        Op::EmbeddingLookup => Some(plain(code::EMBEDDING_LOOKUP)),
        Op::AddN => Some(plain(code::ADD_N)),
        Op::Rfft2d => Some(plain(code::RFFT2D)),
        Op::ComplexAbs => Some(plain(code::COMPLEX_ABS)),
        Op::Real => Some(plain(code::REAL)),
        Op::Imag => Some(plain(code::IMAG)),
        Op::NonMaxSuppressionV4 => Some(plain(code::NON_MAX_SUPPRESSION_V4)),
        Op::NonMaxSuppressionV5 => Some(plain(code::NON_MAX_SUPPRESSION_V5)),
        Op::Unknown { name } => Some(unknown(name)),
        Op::MediaPipe(m) => Some(Encoded {
            custom_options: Some((encode_mediapipe(m), m.version())),
            ..unknown(m.name())
        }),
        Op::DetectionDecode(_) | Op::DetectionNms(_) => None,
    }
}

/// The `BuiltinOptions` tag of `CastOptions`.
const CAST_OPTIONS: u8 = 37;
