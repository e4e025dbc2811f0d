//! One small model per builtin the reader knows, each holding one operator with
//! options other than the schema's defaults, built in the IR.

use super::build::*;
use std::sync::Arc;
use tflite_wgpu::graph::op::*;
use tflite_wgpu::graph::{
    DType, Data, DimensionMetadata, Op, Quantization, Sparsity, Tensor, TensorInfo,
};

/// Every case.
pub fn cases() -> Vec<Case> {
    use Activation as A;
    let mut c = Vec::new();
    let s = [1, 2, 3, 4];
    let bin = |name, b, act, positive| {
        case(
            name,
            Op::Binary(b, act),
            vec![f(&s), f(&[4])],
            of(&s),
            positive,
        )
    };
    c.push(bin("ADD", Binary::Add, A::Relu6, false));
    c.push(bin("SUB", Binary::Sub, A::Relu, false));
    c.push(bin("MUL", Binary::Mul, A::ReluN1To1, false));
    c.push(bin("DIV", Binary::Div, A::Relu, true));
    c.push(bin("MAXIMUM", Binary::Maximum, A::None, false));
    c.push(bin("MINIMUM", Binary::Minimum, A::None, false));
    c.push(bin(
        "SQUARED_DIFFERENCE",
        Binary::SquaredDifference,
        A::None,
        false,
    ));
    c.push(bin("POW", Binary::Pow, A::None, true));
    c.push(bin("FLOOR_DIV", Binary::FloorDiv, A::None, true));
    c.push(bin("FLOOR_MOD", Binary::FloorMod, A::None, true));
    let cmp = |name, b, dtype| {
        case(
            name,
            Op::Binary(b, A::None),
            vec![In::Var(dtype, s.to_vec()), In::Var(dtype, vec![4])],
            out(DType::Bool, &s),
            false,
        )
    };
    c.push(cmp("LESS", Binary::Less, DType::F32));
    c.push(cmp("LESS_EQUAL", Binary::LessEqual, DType::I32));
    c.push(cmp("GREATER", Binary::Greater, DType::F32));
    c.push(cmp("GREATER_EQUAL", Binary::GreaterEqual, DType::I32));
    c.push(cmp("EQUAL", Binary::Equal, DType::I32));
    c.push(cmp("NOT_EQUAL", Binary::NotEqual, DType::I32));
    c.push(cmp("LOGICAL_AND", Binary::LogicalAnd, DType::Bool));
    c.push(cmp("LOGICAL_OR", Binary::LogicalOr, DType::Bool));

    let un = |name, u, positive| {
        case(
            name,
            Op::Unary(u),
            vec![f(&[2, 3, 4])],
            of(&[2, 3, 4]),
            positive,
        )
    };
    for (name, u, positive) in [
        ("ABS", Unary::Abs, false),
        ("NEG", Unary::Neg, false),
        ("EXP", Unary::Exp, false),
        ("LOG", Unary::Log, true),
        ("SQRT", Unary::Sqrt, true),
        ("RSQRT", Unary::Rsqrt, true),
        ("SQUARE", Unary::Square, false),
        ("SIN", Unary::Sin, false),
        ("COS", Unary::Cos, false),
        ("FLOOR", Unary::Floor, false),
        ("CEIL", Unary::Ceil, false),
        ("ROUND", Unary::Round, false),
        ("SIGN", Unary::Sign, false),
        ("RELU", Unary::Relu, false),
        ("RELU6", Unary::Relu6, false),
        ("RELU_N1_TO_1", Unary::ReluN1To1, false),
        ("RELU_0_TO_1", Unary::Relu0To1, false),
        ("LOGISTIC", Unary::Logistic, false),
        ("TANH", Unary::Tanh, false),
        ("HARD_SWISH", Unary::HardSwish, false),
        ("ELU", Unary::Elu, false),
        ("GELU", Unary::Gelu { approximate: true }, false),
        ("LEAKY_RELU", Unary::LeakyRelu { alpha: 0.3 }, false),
    ] {
        c.push(un(name, u, positive));
    }
    c.push(case(
        "LOGICAL_NOT",
        Op::Unary(Unary::LogicalNot),
        vec![In::Var(DType::Bool, vec![2, 3])],
        out(DType::Bool, &[2, 3]),
        false,
    ));

    c.push(case(
        "CONV_2D",
        Op::Conv2D(Conv2D {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 1,
            activation: A::Relu,
            dilation_w: 1,
            dilation_h: 2,
        }),
        vec![
            f(&[1, 7, 7, 3]),
            f32c(vec![4, 3, 3, 3], 1),
            f32c(vec![4], 2),
        ],
        of(&[1, 3, 3, 4]),
        false,
    ));
    c.push(case(
        "DEPTHWISE_CONV_2D",
        Op::DepthwiseConv2D(DepthwiseConv2D {
            padding: Padding::Same,
            stride_w: 2,
            stride_h: 2,
            depth_multiplier: 2,
            activation: A::Relu6,
            dilation_w: 1,
            dilation_h: 1,
        }),
        vec![
            f(&[1, 6, 6, 2]),
            f32c(vec![1, 3, 3, 4], 3),
            f32c(vec![4], 4),
        ],
        of(&[1, 3, 3, 4]),
        false,
    ));
    c.push(case(
        "TRANSPOSE_CONV",
        Op::TransposeConv(TransposeConv {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 2,
            activation: A::None,
        }),
        vec![
            i32c(vec![4], vec![1, 9, 9, 2]),
            f32c(vec![2, 3, 3, 3], 5),
            f(&[1, 4, 4, 3]),
            f32c(vec![2], 6),
        ],
        of(&[1, 9, 9, 2]),
        false,
    ));
    let pool = |padding, stride, fw, fh, activation| Pool2D {
        padding,
        stride_w: stride,
        stride_h: stride,
        filter_w: fw,
        filter_h: fh,
        activation,
    };
    c.push(case(
        "AVERAGE_POOL_2D",
        Op::AveragePool2D(pool(Padding::Valid, 2, 2, 3, A::Relu)),
        vec![f(&[1, 6, 6, 3])],
        of(&[1, 2, 3, 3]),
        false,
    ));
    c.push(case(
        "MAX_POOL_2D",
        Op::MaxPool2D(pool(Padding::Same, 2, 3, 3, A::Relu6)),
        vec![f(&[1, 6, 6, 3])],
        of(&[1, 3, 3, 3]),
        false,
    ));
    c.push(case(
        "L2_POOL_2D",
        Op::L2Pool2D(pool(Padding::Valid, 1, 2, 2, A::None)),
        vec![f(&[1, 6, 6, 3])],
        of(&[1, 5, 5, 3]),
        false,
    ));
    c.push(case(
        "FULLY_CONNECTED",
        Op::FullyConnected(FullyConnected {
            activation: A::Relu,
            keep_num_dims: true,
            asymmetric_quantize_inputs: false,
        }),
        vec![f(&[2, 3, 4]), f32c(vec![5, 4], 7), f32c(vec![5], 8)],
        of(&[2, 3, 5]),
        false,
    ));
    c.push(case(
        "BATCH_MATMUL",
        Op::BatchMatMul {
            adj_x: false,
            adj_y: true,
            asymmetric_quantize_inputs: false,
        },
        vec![f(&[2, 3, 4]), f(&[2, 5, 4])],
        of(&[2, 3, 5]),
        false,
    ));
    for (name, kind, keep_dims, axes, dtype, shape) in [
        (
            "MEAN",
            Reduce::Mean,
            true,
            vec![1],
            DType::F32,
            vec![2, 1, 4],
        ),
        ("SUM", Reduce::Sum, false, vec![0, 2], DType::F32, vec![3]),
        (
            "REDUCE_MAX",
            Reduce::Max,
            true,
            vec![-1],
            DType::F32,
            vec![2, 3, 1],
        ),
        (
            "REDUCE_MIN",
            Reduce::Min,
            false,
            vec![1],
            DType::F32,
            vec![2, 4],
        ),
        (
            "REDUCE_PROD",
            Reduce::Prod,
            true,
            vec![2],
            DType::F32,
            vec![2, 3, 1],
        ),
        (
            "REDUCE_ANY",
            Reduce::Any,
            true,
            vec![1],
            DType::Bool,
            vec![2, 1, 4],
        ),
        (
            "REDUCE_ALL",
            Reduce::All,
            false,
            vec![1],
            DType::Bool,
            vec![2, 4],
        ),
    ] {
        let n = axes.len();
        c.push(case(
            name,
            Op::Reduce { kind, keep_dims },
            vec![In::Var(dtype, vec![2, 3, 4]), i32c(vec![n], axes)],
            out(dtype, &shape),
            false,
        ));
    }
    c.push(case(
        "SOFTMAX",
        Op::Softmax { beta: 0.5 },
        vec![f(&[2, 5])],
        of(&[2, 5]),
        false,
    ));
    c.push(case(
        "LOG_SOFTMAX",
        Op::LogSoftmax,
        vec![f(&[2, 5])],
        of(&[2, 5]),
        false,
    ));
    c.push(case(
        "L2_NORMALIZATION",
        Op::L2Normalization(A::None),
        vec![f(&[2, 5])],
        of(&[2, 5]),
        false,
    ));
    c.push(case(
        "LOCAL_RESPONSE_NORMALIZATION",
        Op::LocalResponseNormalization(Lrn {
            radius: 2,
            bias: 1.5,
            alpha: 0.3,
            beta: 0.6,
        }),
        vec![f(&[1, 2, 2, 6])],
        of(&[1, 2, 2, 6]),
        false,
    ));
    c.push(case(
        "PRELU",
        Op::Prelu,
        vec![f(&[1, 2, 2, 3]), f32c(vec![1, 1, 3], 9)],
        of(&[1, 2, 2, 3]),
        false,
    ));
    c.push(case(
        "RESHAPE",
        Op::Reshape {
            new_shape: Some(vec![4, 6]),
        },
        vec![f(&[2, 3, 4]), i32c(vec![2], vec![4, 6])],
        of(&[4, 6]),
        false,
    ));
    c.push(case(
        "SQUEEZE",
        Op::Squeeze { axes: vec![2] },
        vec![f(&[1, 3, 1, 4])],
        of(&[1, 3, 4]),
        false,
    ));
    c.push(case(
        "EXPAND_DIMS",
        Op::ExpandDims,
        vec![f(&[3, 4]), i32s(1)],
        of(&[3, 1, 4]),
        false,
    ));
    c.push(case(
        "CONCATENATION",
        // LiteRT's kernel refuses a fused activation.
        Op::Concatenation {
            axis: -1,
            activation: A::None,
        },
        vec![f(&[2, 3]), f(&[2, 2])],
        of(&[2, 5]),
        false,
    ));
    c.push(case(
        "SPLIT",
        Op::Split { num_splits: 3 },
        vec![i32s(1), f(&[2, 6])],
        vec![(DType::F32, vec![2, 2]); 3],
        false,
    ));
    c.push(case(
        "SPLIT_V",
        Op::SplitV { num_splits: 3 },
        vec![f(&[2, 6]), i32c(vec![3], vec![1, 2, 3]), i32s(1)],
        vec![
            (DType::F32, vec![2, 1]),
            (DType::F32, vec![2, 2]),
            (DType::F32, vec![2, 3]),
        ],
        false,
    ));
    c.push(case(
        "SLICE",
        Op::Slice,
        vec![
            f(&[3, 4]),
            i32c(vec![2], vec![1, 0]),
            i32c(vec![2], vec![2, -1]),
        ],
        of(&[2, 4]),
        false,
    ));
    c.push(case(
        "STRIDED_SLICE",
        Op::StridedSlice(StridedSlice {
            begin_mask: 0,
            end_mask: 2,
            ellipsis_mask: 0,
            new_axis_mask: 0,
            shrink_axis_mask: 0,
            offset: false,
        }),
        vec![
            f(&[4, 6]),
            i32c(vec![2], vec![1, 0]),
            i32c(vec![2], vec![3, 1]),
            i32c(vec![2], vec![1, 2]),
        ],
        of(&[2, 3]),
        false,
    ));
    c.push(case(
        "TRANSPOSE",
        Op::Transpose,
        vec![f(&[2, 3, 4]), i32c(vec![3], vec![2, 0, 1])],
        of(&[4, 2, 3]),
        false,
    ));
    c.push(case(
        "GATHER",
        Op::Gather {
            axis: 1,
            batch_dims: 0,
        },
        vec![f(&[3, 5]), i32c(vec![2], vec![4, 1])],
        of(&[3, 2]),
        false,
    ));
    c.push(case(
        "GATHER_ND",
        Op::GatherNd,
        vec![f(&[3, 4]), i32c(vec![2, 2], vec![1, 2, 0, 3])],
        of(&[2]),
        false,
    ));
    c.push(case(
        "SCATTER_ND",
        Op::ScatterNd,
        vec![
            i32c(vec![2, 1], vec![1, 3]),
            f(&[2, 3]),
            i32c(vec![2], vec![5, 3]),
        ],
        of(&[5, 3]),
        false,
    ));
    c.push(case(
        "TILE",
        Op::Tile,
        vec![f(&[2, 3]), i32c(vec![2], vec![2, 2])],
        of(&[4, 6]),
        false,
    ));
    c.push(case(
        "PACK",
        Op::Pack { axis: 1 },
        vec![f(&[2, 3]), f(&[2, 3]), f(&[2, 3])],
        of(&[2, 3, 3]),
        false,
    ));
    c.push(case(
        "UNPACK",
        Op::Unpack { axis: 1, num: 3 },
        vec![f(&[2, 3, 4])],
        vec![(DType::F32, vec![2, 4]); 3],
        false,
    ));
    let pads = || i32c(vec![2, 2], vec![1, 0, 0, 2]);
    c.push(case(
        "PAD",
        Op::Pad,
        vec![f(&[2, 3]), pads()],
        of(&[3, 5]),
        false,
    ));
    c.push(case(
        "PADV2",
        Op::PadV2,
        vec![f(&[2, 3]), pads(), f32s(0.5)],
        of(&[3, 5]),
        false,
    ));
    c.push(case(
        "MIRROR_PAD",
        Op::MirrorPad { symmetric: true },
        vec![f(&[3, 4]), i32c(vec![2, 2], vec![1, 1, 2, 2])],
        of(&[5, 8]),
        false,
    ));
    c.push(case(
        "RESIZE_BILINEAR",
        Op::ResizeBilinear(Resize {
            align_corners: false,
            half_pixel_centers: true,
        }),
        vec![f(&[1, 3, 4, 2]), i32c(vec![2], vec![6, 8])],
        of(&[1, 6, 8, 2]),
        false,
    ));
    c.push(case(
        "RESIZE_NEAREST_NEIGHBOR",
        Op::ResizeNearestNeighbor(Resize {
            align_corners: true,
            half_pixel_centers: false,
        }),
        vec![f(&[1, 3, 4, 2]), i32c(vec![2], vec![5, 7])],
        of(&[1, 5, 7, 2]),
        false,
    ));
    c.push(case(
        "DEPTH_TO_SPACE",
        Op::DepthToSpace { block_size: 2 },
        vec![f(&[1, 2, 3, 8])],
        of(&[1, 4, 6, 2]),
        false,
    ));
    c.push(case(
        "SPACE_TO_DEPTH",
        Op::SpaceToDepth { block_size: 2 },
        vec![f(&[1, 4, 6, 2])],
        of(&[1, 2, 3, 8]),
        false,
    ));
    c.push(case(
        "BATCH_TO_SPACE_ND",
        Op::BatchToSpaceNd,
        vec![
            f(&[4, 2, 2, 1]),
            i32c(vec![2], vec![2, 2]),
            i32c(vec![2, 2], vec![0, 0, 0, 0]),
        ],
        of(&[1, 4, 4, 1]),
        false,
    ));
    c.push(case(
        "SPACE_TO_BATCH_ND",
        Op::SpaceToBatchNd,
        vec![
            f(&[1, 4, 4, 1]),
            i32c(vec![2], vec![2, 2]),
            i32c(vec![2, 2], vec![0, 0, 0, 0]),
        ],
        of(&[4, 2, 2, 1]),
        false,
    ));
    c.push(case(
        "CUMSUM",
        Op::Cumsum {
            exclusive: true,
            reverse: true,
        },
        vec![f(&[2, 5]), i32s(1)],
        of(&[2, 5]),
        false,
    ));
    c.push(case(
        "ARG_MAX",
        Op::ArgMax {
            output_type: DType::I32,
        },
        vec![f(&[2, 5]), i32c(vec![1], vec![1])],
        out(DType::I32, &[2]),
        false,
    ));
    c.push(case(
        "ARG_MIN",
        Op::ArgMin {
            output_type: DType::I32,
        },
        vec![f(&[2, 5]), i32c(vec![1], vec![0])],
        out(DType::I32, &[5]),
        false,
    ));
    c.push(case(
        "CAST",
        Op::Cast,
        vec![f(&[2, 3])],
        out(DType::I32, &[2, 3]),
        false,
    ));
    c.push(case(
        "SELECT",
        Op::Select,
        vec![In::Var(DType::Bool, vec![2, 3]), f(&[2, 3]), f(&[2, 3])],
        of(&[2, 3]),
        false,
    ));
    c.push(case(
        "SELECT_V2",
        Op::SelectV2,
        vec![In::Var(DType::Bool, vec![2, 1]), f(&[2, 3]), f(&[3])],
        of(&[2, 3]),
        false,
    ));
    let quantized = |dtype, shape: &[usize], scale, zp| {
        let mut t = TensorInfo::new("q", dtype, shape.to_vec());
        t.quantization = Some(Quantization::per_tensor(scale, zp));
        t
    };
    {
        let mut q = case(
            "QUANTIZE",
            Op::Quantize,
            vec![f(&[2, 3])],
            of(&[2, 3]),
            false,
        );
        let sg = &mut q.graph.subgraphs[0];
        sg.tensors[1] = TensorInfo {
            name: "out0".into(),
            ..quantized(DType::I8, &[2, 3], 0.02, 3)
        };
        c.push(q);
    }
    {
        let mut q = case(
            "DEQUANTIZE",
            Op::Dequantize,
            vec![In::Var(DType::I8, vec![2, 3])],
            of(&[2, 3]),
            false,
        );
        q.graph.subgraphs[0].tensors[0].quantization = Some(Quantization::per_tensor(0.05, -2));
        c.push(q);
    }
    {
        // A 4x4 constant with 5 stored values: dense rows, compressed columns.
        let mut t = TensorInfo::new("sparse", DType::F32, vec![4, 4]);
        let v: Vec<f32> = vec![1.0, -2.0, 3.5, 0.25, -7.0];
        t.data = Some(Arc::from(Data::F32(v).to_bytes()));
        t.sparsity = Some(Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dim_metadata: vec![
                DimensionMetadata::Dense(4),
                DimensionMetadata::Sparse {
                    segments: vec![0, 2, 2, 4, 5],
                    indices: vec![0, 3, 1, 2, 3],
                },
            ],
        });
        c.push(case(
            "DENSIFY",
            Op::Densify,
            vec![In::Info(t)],
            of(&[4, 4]),
            false,
        ));
    }
    c.push(case(
        "RANGE",
        Op::Range,
        vec![
            In::Val(Tensor::new(vec![], Data::I32(vec![1]))),
            i32s(10),
            i32s(2),
        ],
        out(DType::I32, &[5]),
        false,
    ));
    c.push(case(
        "SHAPE",
        Op::Shape {
            out_type: DType::I64,
        },
        vec![f(&[2, 3, 4])],
        out(DType::I64, &[3]),
        false,
    ));
    c.push(case(
        "RANK",
        Op::Rank,
        vec![f(&[2, 3, 4])],
        out(DType::I32, &[]),
        false,
    ));
    c.push(case(
        "FILL",
        Op::Fill,
        vec![i32c(vec![2], vec![2, 3]), f(&[])],
        of(&[2, 3]),
        false,
    ));
    c.push(case(
        "ZEROS_LIKE",
        Op::ZerosLike,
        vec![f(&[2, 3])],
        of(&[2, 3]),
        false,
    ));
    c.push(case(
        "REVERSE_V2",
        Op::ReverseV2,
        vec![f(&[2, 3, 4]), i32c(vec![1], vec![1])],
        of(&[2, 3, 4]),
        false,
    ));
    c.push(case(
        "ONE_HOT",
        Op::OneHot { axis: 0 },
        vec![In::Var(DType::I32, vec![3]), i32s(4), f32s(1.5), f32s(-1.0)],
        of(&[4, 3]),
        false,
    ));
    c.push(case(
        "TOPK_V2",
        Op::TopKV2,
        vec![f(&[2, 6]), i32s(3)],
        vec![(DType::F32, vec![2, 3]), (DType::I32, vec![2, 3])],
        false,
    ));
    c.push(case(
        "BROADCAST_TO",
        Op::BroadcastTo,
        vec![f(&[1, 3]), i32c(vec![2], vec![2, 3])],
        of(&[2, 3]),
        false,
    ));
    c.push(case(
        "BROADCAST_ARGS",
        Op::BroadcastArgs,
        vec![
            In::Val(Tensor::new(vec![2], Data::I32(vec![2, 1]))),
            i32c(vec![2], vec![1, 3]),
        ],
        out(DType::I32, &[2]),
        false,
    ));
    c.push(case(
        "EMBEDDING_LOOKUP",
        Op::EmbeddingLookup,
        vec![In::Var(DType::I32, vec![3]), f32c(vec![4, 2], 10)],
        of(&[3, 2]),
        false,
    ));
    c.push(case(
        "ADD_N",
        Op::AddN,
        vec![f(&[2, 3]), f(&[2, 3]), f(&[2, 3])],
        of(&[2, 3]),
        false,
    ));
    {
        let mut r = case(
            "RFFT2D",
            Op::Rfft2d,
            vec![f(&[2, 4, 8]), i32c(vec![2], vec![4, 8])],
            out(DType::Complex64, &[2, 4, 5]),
            false,
        );
        // The CPU side cannot read complex outputs back from .npy.
        r.cpu = false;
        c.push(r);
    }
    let complex = || {
        let v = values(12, 11, -2.0, 2.0);
        In::Const(Tensor::new(vec![2, 3], Data::C64(v)))
    };
    c.push(case(
        "COMPLEX_ABS",
        Op::ComplexAbs,
        vec![complex()],
        of(&[2, 3]),
        false,
    ));
    c.push(case("REAL", Op::Real, vec![complex()], of(&[2, 3]), false));
    c.push(case("IMAG", Op::Imag, vec![complex()], of(&[2, 3]), false));
    // A MediaPipe custom op that LiteRT's default (XNNPACK) kernels know.
    c.push(case(
        "Convolution2DTransposeBias",
        Op::TransposeConvBias(TransposeConv {
            padding: Padding::Same,
            stride_w: 2,
            stride_h: 2,
            activation: A::None,
        }),
        vec![
            f(&[1, 4, 4, 3]),
            f32c(vec![2, 3, 3, 3], 12),
            f32c(vec![2], 13),
        ],
        of(&[1, 8, 8, 2]),
        false,
    ));
    c.push(lstm());
    c.push(while_loop());
    c.push(if_else());
    c.push(nms(false));
    c.push(nms(true));
    c
}
