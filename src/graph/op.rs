//! The typed operator set: one variant per TFLite op, parameters as structs.

pub use super::op_detect::DetectionPostProcess;
pub use super::op_mediapipe::*;
use super::DType;

/// A fused activation applied to an op's output (TFLite `ActivationFunctionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// No activation.
    #[default]
    None,
    /// max(x, 0).
    Relu,
    /// clamp(x, -1, 1).
    ReluN1To1,
    /// clamp(x, 0, 6).
    Relu6,
    /// tanh(x).
    Tanh,
    /// sign bit (unused by current converters; kept so a model using it gets an error).
    SignBit,
}

impl Activation {
    /// Decode the schema code; unknown codes are None.
    pub fn from_code(code: i8) -> Option<Self> {
        Some(match code {
            0 => Activation::None,
            1 => Activation::Relu,
            2 => Activation::ReluN1To1,
            3 => Activation::Relu6,
            4 => Activation::Tanh,
            5 => Activation::SignBit,
            _ => return None,
        })
    }

    /// The schema code.
    pub fn code(self) -> i8 {
        self as i8
    }

    /// The float clamp range of a clamping activation (None for tanh/sign-bit).
    pub fn range(self) -> Option<(f32, f32)> {
        match self {
            Activation::None => Some((f32::NEG_INFINITY, f32::INFINITY)),
            Activation::Relu => Some((0.0, f32::INFINITY)),
            Activation::ReluN1To1 => Some((-1.0, 1.0)),
            Activation::Relu6 => Some((0.0, 6.0)),
            Activation::Tanh | Activation::SignBit => None,
        }
    }
}

/// Padding scheme of convolutions and pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// Output size ceil(in / stride); the pad is split with the extra pixel at the end.
    #[default]
    Same,
    /// No padding.
    Valid,
}

impl Padding {
    /// Decode the schema's `Padding` code (0 SAME, 1 VALID); unknown codes are None.
    pub fn from_schema(code: i8) -> Option<Self> {
        match code {
            0 => Some(Padding::Same),
            1 => Some(Padding::Valid),
            _ => None,
        }
    }

    /// The schema's `Padding` code.
    pub fn schema_code(self) -> i8 {
        match self {
            Padding::Same => 0,
            Padding::Valid => 1,
        }
    }

    /// Decode the C API's `TfLitePadding` (1 SAME, 2 VALID), used by the runtime's
    /// parameter structs and by MediaPipe custom options; `kTfLitePaddingUnknown`
    /// (0) and other codes are None.
    pub fn from_c(code: i32) -> Option<Self> {
        match code {
            1 => Some(Padding::Same),
            2 => Some(Padding::Valid),
            _ => None,
        }
    }
}

/// CONV_2D parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Conv2D {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// DEPTHWISE_CONV_2D parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DepthwiseConv2D {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Output channels per input channel (0 in old files means "infer from filter").
    pub depth_multiplier: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// Pooling parameters (AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D and MediaPipe pools).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pool2D {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Window width.
    pub filter_w: usize,
    /// Window height.
    pub filter_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// TRANSPOSE_CONV (and MediaPipe Convolution2DTransposeBias) parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TransposeConv {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// FULLY_CONNECTED parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FullyConnected {
    /// Fused activation.
    pub activation: Activation,
    /// Keep the input's leading dimensions instead of flattening to 2-D.
    pub keep_num_dims: bool,
    /// Hybrid kernels: quantize inputs asymmetrically.
    pub asymmetric_quantize_inputs: bool,
}

/// STRIDED_SLICE parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StridedSlice {
    /// Bit i set: ignore `begin[i]`, start at the first element.
    pub begin_mask: i32,
    /// Bit i set: ignore `end[i]`, run to the last element.
    pub end_mask: i32,
    /// Bit i set: an ellipsis at position i.
    pub ellipsis_mask: i32,
    /// Bit i set: insert a new axis of size 1 at position i.
    pub new_axis_mask: i32,
    /// Bit i set: take one element and drop axis i.
    pub shrink_axis_mask: i32,
    /// `end[i]` is an offset from `begin[i]`.
    pub offset: bool,
}

/// Resize parameters (bilinear and nearest neighbour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resize {
    /// Align the corner pixels of input and output.
    pub align_corners: bool,
    /// Sample at pixel centres (x + 0.5).
    pub half_pixel_centers: bool,
}

/// UNIDIRECTIONAL_SEQUENCE_LSTM parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lstm {
    /// Activation of the cell output (usually tanh).
    pub activation: Activation,
    /// Cell state clip (0 = none).
    pub cell_clip: f32,
    /// Projection clip (0 = none).
    pub proj_clip: f32,
    /// Input is [time, batch, features] instead of [batch, time, features].
    pub time_major: bool,
    /// Hybrid kernels: quantize inputs asymmetrically.
    pub asymmetric_quantize_inputs: bool,
}

/// LOCAL_RESPONSE_NORMALIZATION parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lrn {
    /// Half-width of the window over channels.
    pub radius: i32,
    /// Additive bias.
    pub bias: f32,
    /// Scale.
    pub alpha: f32,
    /// Exponent.
    pub beta: f32,
}

/// Which reduction a reduce op performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// MEAN.
    Mean,
    /// SUM.
    Sum,
    /// REDUCE_MAX.
    Max,
    /// REDUCE_MIN.
    Min,
    /// REDUCE_PROD.
    Prod,
    /// REDUCE_ANY.
    Any,
    /// REDUCE_ALL.
    All,
}

/// Element-wise unary functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    /// |x|.
    Abs,
    /// -x.
    Neg,
    /// e^x.
    Exp,
    /// ln x.
    Log,
    /// sqrt x.
    Sqrt,
    /// 1 / sqrt x.
    Rsqrt,
    /// x * x.
    Square,
    /// sin x.
    Sin,
    /// cos x.
    Cos,
    /// floor x.
    Floor,
    /// ceil x.
    Ceil,
    /// Round half to even.
    Round,
    /// -1, 0 or 1.
    Sign,
    /// max(x, 0).
    Relu,
    /// clamp(x, 0, 6).
    Relu6,
    /// clamp(x, -1, 1).
    ReluN1To1,
    /// clamp(x, 0, 1).
    Relu0To1,
    /// 1 / (1 + e^-x).
    Logistic,
    /// tanh x.
    Tanh,
    /// x * relu6(x + 3) / 6.
    HardSwish,
    /// x if x > 0 else e^x - 1.
    Elu,
    /// Gaussian error linear unit, exact or tanh approximation.
    Gelu {
        /// Use the tanh approximation.
        approximate: bool,
    },
    /// x if x >= 0 else alpha * x.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// Boolean not.
    LogicalNot,
}

/// Element-wise binary functions with numpy broadcasting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binary {
    /// a + b.
    Add,
    /// a - b.
    Sub,
    /// a * b.
    Mul,
    /// a / b.
    Div,
    /// max(a, b).
    Maximum,
    /// min(a, b).
    Minimum,
    /// (a - b)^2.
    SquaredDifference,
    /// a^b.
    Pow,
    /// floor(a / b).
    FloorDiv,
    /// a - floor(a / b) * b.
    FloorMod,
    /// a < b.
    Less,
    /// a <= b.
    LessEqual,
    /// a > b.
    Greater,
    /// a >= b.
    GreaterEqual,
    /// a == b.
    Equal,
    /// a != b.
    NotEqual,
    /// a && b.
    LogicalAnd,
    /// a || b.
    LogicalOr,
}

impl Binary {
    /// True for ops whose output is bool.
    pub fn is_comparison(self) -> bool {
        use Binary::*;
        matches!(
            self,
            Less | LessEqual | Greater | GreaterEqual | Equal | NotEqual | LogicalAnd | LogicalOr
        )
    }
}

/// One TFLite operator with its typed parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Element-wise unary function.
    Unary(Unary),
    /// Element-wise binary function with broadcasting and a fused activation
    /// (TFLite fuses activations into ADD, SUB, MUL and DIV).
    Binary(Binary, Activation),
    /// CONV_2D: input NHWC, filter OHWI, optional bias.
    Conv2D(Conv2D),
    /// DEPTHWISE_CONV_2D: filter 1HW(I*M).
    DepthwiseConv2D(DepthwiseConv2D),
    /// TRANSPOSE_CONV: inputs output_shape, filter OHWI, input, optional bias.
    TransposeConv(TransposeConv),
    /// MediaPipe Convolution2DTransposeBias: input, filter OHWI, bias.
    TransposeConvBias(TransposeConv),
    /// FULLY_CONNECTED: input, weights [out, in], optional bias.
    FullyConnected(FullyConnected),
    /// BATCH_MATMUL with optional transposes.
    BatchMatMul {
        /// Transpose (adjoint) the first operand.
        adj_x: bool,
        /// Transpose (adjoint) the second operand.
        adj_y: bool,
        /// Hybrid kernels: quantize inputs asymmetrically.
        asymmetric_quantize_inputs: bool,
    },
    /// AVERAGE_POOL_2D.
    AveragePool2D(Pool2D),
    /// MAX_POOL_2D.
    MaxPool2D(Pool2D),
    /// L2_POOL_2D.
    L2Pool2D(Pool2D),
    /// MediaPipe MaxPoolingWithArgmax2D: outputs the max and its flat index.
    MaxPoolWithArgmax(Pool2D),
    /// MediaPipe MaxUnpooling2D: scatter values back to argmax positions.
    MaxUnpooling(Pool2D),
    /// MediaPipe's transform ops (graph/op_mediapipe.rs).
    MediaPipe(MediaPipeOp),
    /// MEAN, SUM, REDUCE_MAX/MIN/PROD/ANY/ALL over the axes of input 1.
    Reduce {
        /// Which reduction.
        kind: Reduce,
        /// Keep reduced axes as size 1.
        keep_dims: bool,
    },
    /// SOFTMAX along the last axis.
    Softmax {
        /// Multiplier of the logits.
        beta: f32,
    },
    /// LOG_SOFTMAX along the last axis.
    LogSoftmax,
    /// L2_NORMALIZATION along the last axis.
    L2Normalization(Activation),
    /// LOCAL_RESPONSE_NORMALIZATION.
    LocalResponseNormalization(Lrn),
    /// PRELU: x if x >= 0 else alpha * x, alpha broadcast.
    Prelu,
    /// RESHAPE (shape from input 1 or from options).
    Reshape {
        /// The shape in the options, used when there is no shape tensor.
        new_shape: Option<Vec<i32>>,
    },
    /// SQUEEZE the listed axes (all size-1 axes when empty).
    Squeeze {
        /// Axes to remove.
        axes: Vec<i32>,
    },
    /// EXPAND_DIMS at the axis in input 1.
    ExpandDims,
    /// CONCATENATION along an axis.
    Concatenation {
        /// The axis (negative counts from the end).
        axis: i32,
        /// Fused activation.
        activation: Activation,
    },
    /// SPLIT: inputs axis, value.
    Split {
        /// Number of outputs.
        num_splits: usize,
    },
    /// SPLIT_V: inputs value, size_splits, axis.
    SplitV {
        /// Number of outputs.
        num_splits: usize,
    },
    /// SLICE: inputs, begin, size.
    Slice,
    /// STRIDED_SLICE: input, begin, end, strides.
    StridedSlice(StridedSlice),
    /// TRANSPOSE by the permutation in input 1.
    Transpose,
    /// GATHER along an axis.
    Gather {
        /// The axis.
        axis: i32,
        /// Leading batch dimensions shared by params and indices.
        batch_dims: i32,
    },
    /// GATHER_ND.
    GatherNd,
    /// SCATTER_ND: indices, updates, shape.
    ScatterNd,
    /// TILE by the multiples in input 1.
    Tile,
    /// PACK inputs along a new axis.
    Pack {
        /// The new axis.
        axis: i32,
    },
    /// UNPACK along an axis.
    Unpack {
        /// The axis.
        axis: i32,
        /// Number of outputs.
        num: usize,
    },
    /// PAD with zeros (or the zero point).
    Pad,
    /// PADV2 with the value in input 2.
    PadV2,
    /// MIRROR_PAD.
    MirrorPad {
        /// SYMMETRIC (include the edge) instead of REFLECT.
        symmetric: bool,
    },
    /// RESIZE_BILINEAR to the size in input 1.
    ResizeBilinear(Resize),
    /// RESIZE_NEAREST_NEIGHBOR to the size in input 1.
    ResizeNearestNeighbor(Resize),
    /// DEPTH_TO_SPACE.
    DepthToSpace {
        /// Block size.
        block_size: usize,
    },
    /// SPACE_TO_DEPTH.
    SpaceToDepth {
        /// Block size.
        block_size: usize,
    },
    /// BATCH_TO_SPACE_ND: input, block_shape, crops.
    BatchToSpaceNd,
    /// SPACE_TO_BATCH_ND: input, block_shape, paddings.
    SpaceToBatchNd,
    /// CUMSUM along the axis in input 1.
    Cumsum {
        /// Exclude the current element.
        exclusive: bool,
        /// Sum from the end.
        reverse: bool,
    },
    /// ARG_MAX along the axis in input 1.
    ArgMax {
        /// Output index type (int32 or int64).
        output_type: DType,
    },
    /// ARG_MIN along the axis in input 1.
    ArgMin {
        /// Output index type (int32 or int64).
        output_type: DType,
    },
    /// CAST to the output tensor's type.
    Cast,
    /// SELECT (condition may be rank 1 over the first axis).
    Select,
    /// SELECT_V2 with full broadcasting.
    SelectV2,
    /// QUANTIZE float to integer, or requantize integer to integer.
    Quantize,
    /// DEQUANTIZE integer or f16 to float.
    Dequantize,
    /// DENSIFY a sparse constant.
    Densify,
    /// RANGE: start, limit, delta.
    Range,
    /// SHAPE of the input.
    Shape {
        /// Output type (int32 or int64).
        out_type: DType,
    },
    /// RANK of the input.
    Rank,
    /// FILL: dims, value.
    Fill,
    /// ZEROS_LIKE.
    ZerosLike,
    /// REVERSE_V2 along the axes in input 1.
    ReverseV2,
    /// ONE_HOT: indices, depth, on_value, off_value.
    OneHot {
        /// Where the new axis goes (-1 = last).
        axis: i32,
    },
    /// TOPK_V2: values and indices of the k largest along the last axis.
    TopKV2,
    /// BROADCAST_TO the shape in input 1.
    BroadcastTo,
    /// BROADCAST_ARGS: the broadcast of two shapes.
    BroadcastArgs,
    /// EMBEDDING_LOOKUP: ids, table.
    EmbeddingLookup,
    /// ADD_N: sum of all inputs.
    AddN,
    /// RFFT2D over the last two axes.
    Rfft2d,
    /// COMPLEX_ABS.
    ComplexAbs,
    /// REAL part.
    Real,
    /// IMAG part.
    Imag,
    /// UNIDIRECTIONAL_SEQUENCE_LSTM.
    UnidirectionalSequenceLstm(Lstm),
    /// WHILE loop over two subgraphs.
    While {
        /// Condition subgraph index.
        cond: usize,
        /// Body subgraph index.
        body: usize,
    },
    /// IF over two subgraphs.
    If {
        /// Subgraph run when the condition is true.
        then_branch: usize,
        /// Subgraph run when it is false.
        else_branch: usize,
    },
    /// TFLite_Detection_PostProcess (custom): box decoding and NMS.
    DetectionPostProcess(DetectionPostProcess),
    /// The box decoding of a TFLite_Detection_PostProcess node split at prepare:
    /// box encodings and anchors in, corner boxes [boxes, 4] out.
    DetectionDecode(DetectionPostProcess),
    /// The NMS of a split TFLite_Detection_PostProcess node: decoded boxes and
    /// scores in, the op's four outputs out.
    DetectionNms(DetectionPostProcess),
    /// NON_MAX_SUPPRESSION_V4: padded selected indices and their count.
    NonMaxSuppressionV4,
    /// NON_MAX_SUPPRESSION_V5: soft-NMS; indices, scores and count.
    NonMaxSuppressionV5,
    /// An op this crate does not implement; running it is an error naming it.
    Unknown {
        /// The builtin name or custom code.
        name: String,
    },
}

impl Op {
    /// The TFLite name of the op (builtin name, or custom code for custom ops).
    pub fn name(&self) -> &str {
        match self {
            Op::Unary(u) => match u {
                Unary::Abs => "ABS",
                Unary::Neg => "NEG",
                Unary::Exp => "EXP",
                Unary::Log => "LOG",
                Unary::Sqrt => "SQRT",
                Unary::Rsqrt => "RSQRT",
                Unary::Square => "SQUARE",
                Unary::Sin => "SIN",
                Unary::Cos => "COS",
                Unary::Floor => "FLOOR",
                Unary::Ceil => "CEIL",
                Unary::Round => "ROUND",
                Unary::Sign => "SIGN",
                Unary::Relu => "RELU",
                Unary::Relu6 => "RELU6",
                Unary::ReluN1To1 => "RELU_N1_TO_1",
                Unary::Relu0To1 => "RELU_0_TO_1",
                Unary::Logistic => "LOGISTIC",
                Unary::Tanh => "TANH",
                Unary::HardSwish => "HARD_SWISH",
                Unary::Elu => "ELU",
                Unary::Gelu { .. } => "GELU",
                Unary::LeakyRelu { .. } => "LEAKY_RELU",
                Unary::LogicalNot => "LOGICAL_NOT",
            },
            Op::Binary(b, _) => match b {
                Binary::Add => "ADD",
                Binary::Sub => "SUB",
                Binary::Mul => "MUL",
                Binary::Div => "DIV",
                Binary::Maximum => "MAXIMUM",
                Binary::Minimum => "MINIMUM",
                Binary::SquaredDifference => "SQUARED_DIFFERENCE",
                Binary::Pow => "POW",
                Binary::FloorDiv => "FLOOR_DIV",
                Binary::FloorMod => "FLOOR_MOD",
                Binary::Less => "LESS",
                Binary::LessEqual => "LESS_EQUAL",
                Binary::Greater => "GREATER",
                Binary::GreaterEqual => "GREATER_EQUAL",
                Binary::Equal => "EQUAL",
                Binary::NotEqual => "NOT_EQUAL",
                Binary::LogicalAnd => "LOGICAL_AND",
                Binary::LogicalOr => "LOGICAL_OR",
            },
            Op::Conv2D(_) => "CONV_2D",
            Op::DepthwiseConv2D(_) => "DEPTHWISE_CONV_2D",
            Op::TransposeConv(_) => "TRANSPOSE_CONV",
            Op::TransposeConvBias(_) => "Convolution2DTransposeBias",
            Op::FullyConnected(_) => "FULLY_CONNECTED",
            Op::BatchMatMul { .. } => "BATCH_MATMUL",
            Op::AveragePool2D(_) => "AVERAGE_POOL_2D",
            Op::MaxPool2D(_) => "MAX_POOL_2D",
            Op::L2Pool2D(_) => "L2_POOL_2D",
            Op::MaxPoolWithArgmax(_) => "MaxPoolingWithArgmax2D",
            Op::MaxUnpooling(_) => "MaxUnpooling2D",
            Op::MediaPipe(m) => m.name(),
            Op::Reduce { kind, .. } => match kind {
                Reduce::Mean => "MEAN",
                Reduce::Sum => "SUM",
                Reduce::Max => "REDUCE_MAX",
                Reduce::Min => "REDUCE_MIN",
                Reduce::Prod => "REDUCE_PROD",
                Reduce::Any => "REDUCE_ANY",
                Reduce::All => "REDUCE_ALL",
            },
            Op::Softmax { .. } => "SOFTMAX",
            Op::LogSoftmax => "LOG_SOFTMAX",
            Op::L2Normalization(_) => "L2_NORMALIZATION",
            Op::LocalResponseNormalization(_) => "LOCAL_RESPONSE_NORMALIZATION",
            Op::Prelu => "PRELU",
            Op::Reshape { .. } => "RESHAPE",
            Op::Squeeze { .. } => "SQUEEZE",
            Op::ExpandDims => "EXPAND_DIMS",
            Op::Concatenation { .. } => "CONCATENATION",
            Op::Split { .. } => "SPLIT",
            Op::SplitV { .. } => "SPLIT_V",
            Op::Slice => "SLICE",
            Op::StridedSlice(_) => "STRIDED_SLICE",
            Op::Transpose => "TRANSPOSE",
            Op::Gather { .. } => "GATHER",
            Op::GatherNd => "GATHER_ND",
            Op::ScatterNd => "SCATTER_ND",
            Op::Tile => "TILE",
            Op::Pack { .. } => "PACK",
            Op::Unpack { .. } => "UNPACK",
            Op::Pad => "PAD",
            Op::PadV2 => "PADV2",
            Op::MirrorPad { .. } => "MIRROR_PAD",
            Op::ResizeBilinear(_) => "RESIZE_BILINEAR",
            Op::ResizeNearestNeighbor(_) => "RESIZE_NEAREST_NEIGHBOR",
            Op::DepthToSpace { .. } => "DEPTH_TO_SPACE",
            Op::SpaceToDepth { .. } => "SPACE_TO_DEPTH",
            Op::BatchToSpaceNd => "BATCH_TO_SPACE_ND",
            Op::SpaceToBatchNd => "SPACE_TO_BATCH_ND",
            Op::Cumsum { .. } => "CUMSUM",
            Op::ArgMax { .. } => "ARG_MAX",
            Op::ArgMin { .. } => "ARG_MIN",
            Op::Cast => "CAST",
            Op::Select => "SELECT",
            Op::SelectV2 => "SELECT_V2",
            Op::Quantize => "QUANTIZE",
            Op::Dequantize => "DEQUANTIZE",
            Op::Densify => "DENSIFY",
            Op::Range => "RANGE",
            Op::Shape { .. } => "SHAPE",
            Op::Rank => "RANK",
            Op::Fill => "FILL",
            Op::ZerosLike => "ZEROS_LIKE",
            Op::ReverseV2 => "REVERSE_V2",
            Op::OneHot { .. } => "ONE_HOT",
            Op::TopKV2 => "TOPK_V2",
            Op::BroadcastTo => "BROADCAST_TO",
            Op::BroadcastArgs => "BROADCAST_ARGS",
            Op::EmbeddingLookup => "EMBEDDING_LOOKUP",
            Op::AddN => "ADD_N",
            Op::Rfft2d => "RFFT2D",
            Op::ComplexAbs => "COMPLEX_ABS",
            Op::Real => "REAL",
            Op::Imag => "IMAG",
            Op::UnidirectionalSequenceLstm(_) => "UNIDIRECTIONAL_SEQUENCE_LSTM",
            Op::While { .. } => "WHILE",
            Op::If { .. } => "IF",
            Op::DetectionPostProcess(_) => DetectionPostProcess::CUSTOM_CODE,
            Op::DetectionDecode(_) => "TFLite_Detection_PostProcess.decode",
            Op::DetectionNms(_) => "TFLite_Detection_PostProcess.nms",
            Op::NonMaxSuppressionV4 => "NON_MAX_SUPPRESSION_V4",
            Op::NonMaxSuppressionV5 => "NON_MAX_SUPPRESSION_V5",
            Op::Unknown { name } => name,
        }
    }
}
