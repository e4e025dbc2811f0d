//! Decoding an operator's code and builtin/custom options into a typed [`Op`].

use super::codes::{builtin_name, code, options_tag, tag};
use super::fb::Table;
use crate::error::{Error, Result};
use crate::graph::op::*;
use crate::graph::{DType, Op};

/// Everything the file says about one operator, before decoding.
pub struct RawOp<'a> {
    /// Index of the operator in its subgraph (for errors).
    pub node: usize,
    /// Effective builtin code.
    pub code: i32,
    /// Custom code for CUSTOM ops.
    pub custom_code: Option<String>,
    /// The operator code's version (0 when unknown).
    pub version: i32,
    /// Union tag of the builtin options.
    pub options_type: u8,
    /// The builtin options table.
    pub options: Option<Table<'a>>,
    /// Raw custom options bytes.
    pub custom_options: Option<&'a [u8]>,
}

/// Field reader over an options table of the expected tag; defaults when absent.
struct Opts<'a> {
    table: Option<Table<'a>>,
}

impl Opts<'_> {
    fn i32(&self, id: usize, default: i32) -> Result<i32> {
        self.table.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn i8(&self, id: usize, default: i8) -> Result<i8> {
        self.table.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn f32(&self, id: usize, default: f32) -> Result<f32> {
        self.table.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn bool(&self, id: usize) -> Result<bool> {
        self.table.map_or(Ok(false), |t| t.scalar(id, false))
    }
    fn ints(&self, id: usize) -> Result<Option<Vec<i32>>> {
        self.table.map_or(Ok(None), |t| t.scalars::<i32>(id))
    }
}

impl RawOp<'_> {
    fn err(&self, what: impl Into<String>) -> Error {
        Error::node(self.node, self.name(), what)
    }

    fn name(&self) -> String {
        match &self.custom_code {
            Some(c) if self.code == code::CUSTOM => c.clone(),
            _ => builtin_name(self.code),
        }
    }

    /// The options table when its tag is the one the builtin table gives for this
    /// op; otherwise defaults are used, exactly as LiteRT does for a missing or
    /// mismatched options table.
    fn opts(&self) -> Opts<'_> {
        Opts {
            table: if self.options_type != tag::NONE && self.options_type == options_tag(self.code)
            {
                self.options
            } else {
                None
            },
        }
    }

    fn activation(&self, code: i8) -> Result<Activation> {
        Activation::from_code(code)
            .ok_or_else(|| self.err(format!("unknown fused activation code {code}")))
    }

    fn padding(&self, code: i8) -> Result<Padding> {
        Padding::from_schema(code).ok_or_else(|| self.err(format!("unknown padding code {code}")))
    }

    fn positive(&self, what: &str, v: i32) -> Result<usize> {
        if v > 0 {
            Ok(v as usize)
        } else {
            Err(self.err(format!("{what} must be positive, got {v}")))
        }
    }

    fn dtype(&self, code: i8) -> Result<DType> {
        DType::from_code(code).ok_or_else(|| self.err(format!("unknown tensor type {code}")))
    }

    /// Decode into a typed op. Ops this crate does not know become [`Op::Unknown`].
    pub fn decode(&self) -> Result<Op> {
        use code as c;
        let binary = |b: Binary| -> Result<Op> {
            let o = self.opts();
            Ok(Op::Binary(b, self.activation(o.i8(0, 0)?)?))
        };
        let reduce = |kind: Reduce| -> Result<Op> {
            Ok(Op::Reduce {
                kind,
                keep_dims: self.opts().bool(0)?,
            })
        };
        Ok(match self.code {
            c::ADD => binary(Binary::Add)?,
            c::SUB => binary(Binary::Sub)?,
            c::MUL => binary(Binary::Mul)?,
            c::DIV => binary(Binary::Div)?,
            c::MAXIMUM => Op::Binary(Binary::Maximum, Activation::None),
            c::MINIMUM => Op::Binary(Binary::Minimum, Activation::None),
            c::SQUARED_DIFFERENCE => Op::Binary(Binary::SquaredDifference, Activation::None),
            c::POW => Op::Binary(Binary::Pow, Activation::None),
            c::FLOOR_DIV => Op::Binary(Binary::FloorDiv, Activation::None),
            c::FLOOR_MOD => Op::Binary(Binary::FloorMod, Activation::None),
            c::LESS => Op::Binary(Binary::Less, Activation::None),
            c::LESS_EQUAL => Op::Binary(Binary::LessEqual, Activation::None),
            c::GREATER => Op::Binary(Binary::Greater, Activation::None),
            c::GREATER_EQUAL => Op::Binary(Binary::GreaterEqual, Activation::None),
            c::EQUAL => Op::Binary(Binary::Equal, Activation::None),
            c::NOT_EQUAL => Op::Binary(Binary::NotEqual, Activation::None),
            c::LOGICAL_AND => Op::Binary(Binary::LogicalAnd, Activation::None),
            c::LOGICAL_OR => Op::Binary(Binary::LogicalOr, Activation::None),
            c::ABS => Op::Unary(Unary::Abs),
            c::NEG => Op::Unary(Unary::Neg),
            c::EXP => Op::Unary(Unary::Exp),
            c::LOG => Op::Unary(Unary::Log),
            c::SQRT => Op::Unary(Unary::Sqrt),
            c::RSQRT => Op::Unary(Unary::Rsqrt),
            c::SQUARE => Op::Unary(Unary::Square),
            c::SIN => Op::Unary(Unary::Sin),
            c::COS => Op::Unary(Unary::Cos),
            c::FLOOR => Op::Unary(Unary::Floor),
            c::CEIL => Op::Unary(Unary::Ceil),
            c::ROUND => Op::Unary(Unary::Round),
            c::SIGN => Op::Unary(Unary::Sign),
            c::RELU => Op::Unary(Unary::Relu),
            c::RELU6 => Op::Unary(Unary::Relu6),
            c::RELU_N1_TO_1 => Op::Unary(Unary::ReluN1To1),
            c::RELU_0_TO_1 => Op::Unary(Unary::Relu0To1),
            c::LOGISTIC => Op::Unary(Unary::Logistic),
            c::TANH => Op::Unary(Unary::Tanh),
            c::HARD_SWISH => Op::Unary(Unary::HardSwish),
            c::ELU => Op::Unary(Unary::Elu),
            c::LOGICAL_NOT => Op::Unary(Unary::LogicalNot),
            c::GELU => Op::Unary(Unary::Gelu {
                approximate: self.opts().bool(0)?,
            }),
            c::LEAKY_RELU => Op::Unary(Unary::LeakyRelu {
                alpha: self.opts().f32(0, 0.0)?,
            }),
            c::CONV_2D => {
                let o = self.opts();
                Op::Conv2D(Conv2D {
                    padding: self.padding(o.i8(0, 0)?)?,
                    stride_w: self.positive("stride_w", o.i32(1, 0)?)?,
                    stride_h: self.positive("stride_h", o.i32(2, 0)?)?,
                    activation: self.activation(o.i8(3, 0)?)?,
                    dilation_w: self.positive("dilation_w", o.i32(4, 1)?)?,
                    dilation_h: self.positive("dilation_h", o.i32(5, 1)?)?,
                })
            }
            c::DEPTHWISE_CONV_2D => {
                let o = self.opts();
                let m = o.i32(3, 0)?;
                Op::DepthwiseConv2D(DepthwiseConv2D {
                    padding: self.padding(o.i8(0, 0)?)?,
                    stride_w: self.positive("stride_w", o.i32(1, 0)?)?,
                    stride_h: self.positive("stride_h", o.i32(2, 0)?)?,
                    depth_multiplier: m.max(0) as usize,
                    activation: self.activation(o.i8(4, 0)?)?,
                    dilation_w: self.positive("dilation_w", o.i32(5, 1)?)?,
                    dilation_h: self.positive("dilation_h", o.i32(6, 1)?)?,
                })
            }
            c::TRANSPOSE_CONV => {
                let o = self.opts();
                Op::TransposeConv(TransposeConv {
                    padding: self.padding(o.i8(0, 0)?)?,
                    stride_w: self.positive("stride_w", o.i32(1, 0)?)?,
                    stride_h: self.positive("stride_h", o.i32(2, 0)?)?,
                    activation: self.activation(o.i8(3, 0)?)?,
                })
            }
            c::AVERAGE_POOL_2D => Op::AveragePool2D(self.pool(self.opts())?),
            c::MAX_POOL_2D => Op::MaxPool2D(self.pool(self.opts())?),
            c::L2_POOL_2D => Op::L2Pool2D(self.pool(self.opts())?),
            c::FULLY_CONNECTED => {
                let o = self.opts();
                let format = o.i8(1, 0)?;
                if format != 0 {
                    return Err(self.err(format!("weights format {format} is not supported")));
                }
                Op::FullyConnected(FullyConnected {
                    activation: self.activation(o.i8(0, 0)?)?,
                    keep_num_dims: o.bool(2)?,
                    asymmetric_quantize_inputs: o.bool(3)?,
                })
            }
            c::BATCH_MATMUL => {
                let o = self.opts();
                Op::BatchMatMul {
                    adj_x: o.bool(0)?,
                    adj_y: o.bool(1)?,
                    asymmetric_quantize_inputs: o.bool(2)?,
                }
            }
            c::MEAN => reduce(Reduce::Mean)?,
            c::SUM => reduce(Reduce::Sum)?,
            c::REDUCE_MAX => reduce(Reduce::Max)?,
            c::REDUCE_MIN => reduce(Reduce::Min)?,
            c::REDUCE_PROD => reduce(Reduce::Prod)?,
            c::REDUCE_ANY => reduce(Reduce::Any)?,
            c::REDUCE_ALL => reduce(Reduce::All)?,
            c::SOFTMAX => Op::Softmax {
                beta: self.opts().f32(0, 0.0)?,
            },
            c::LOG_SOFTMAX => Op::LogSoftmax,
            c::L2_NORMALIZATION => Op::L2Normalization(self.activation(self.opts().i8(0, 0)?)?),
            c::LOCAL_RESPONSE_NORMALIZATION => {
                let o = self.opts();
                Op::LocalResponseNormalization(Lrn {
                    radius: o.i32(0, 0)?,
                    bias: o.f32(1, 0.0)?,
                    alpha: o.f32(2, 0.0)?,
                    beta: o.f32(3, 0.0)?,
                })
            }
            c::PRELU => Op::Prelu,
            c::RESHAPE => Op::Reshape {
                new_shape: self.opts().ints(0)?,
            },
            c::SQUEEZE => Op::Squeeze {
                axes: self.opts().ints(0)?.unwrap_or_default(),
            },
            c::EXPAND_DIMS => Op::ExpandDims,
            c::CONCATENATION => {
                let o = self.opts();
                Op::Concatenation {
                    axis: o.i32(0, 0)?,
                    activation: self.activation(o.i8(1, 0)?)?,
                }
            }
            c::SPLIT => Op::Split {
                num_splits: self.positive("num_splits", self.opts().i32(0, 0)?)?,
            },
            c::SPLIT_V => Op::SplitV {
                num_splits: self.positive("num_splits", self.opts().i32(0, 0)?)?,
            },
            c::SLICE => Op::Slice,
            c::STRIDED_SLICE => {
                let o = self.opts();
                Op::StridedSlice(StridedSlice {
                    begin_mask: o.i32(0, 0)?,
                    end_mask: o.i32(1, 0)?,
                    ellipsis_mask: o.i32(2, 0)?,
                    new_axis_mask: o.i32(3, 0)?,
                    shrink_axis_mask: o.i32(4, 0)?,
                    offset: o.bool(5)?,
                })
            }
            c::TRANSPOSE => Op::Transpose,
            c::GATHER => {
                let o = self.opts();
                Op::Gather {
                    axis: o.i32(0, 0)?,
                    batch_dims: o.i32(1, 0)?,
                }
            }
            c::GATHER_ND => Op::GatherNd,
            c::SCATTER_ND => Op::ScatterNd,
            c::TILE => Op::Tile,
            c::PACK => Op::Pack {
                axis: self.opts().i32(1, 0)?,
            },
            c::UNPACK => {
                let o = self.opts();
                Op::Unpack {
                    num: o.i32(0, 0)?.max(0) as usize,
                    axis: o.i32(1, 0)?,
                }
            }
            c::PAD => Op::Pad,
            c::PADV2 => Op::PadV2,
            c::MIRROR_PAD => Op::MirrorPad {
                symmetric: self.opts().i8(0, 0)? == 1,
            },
            c::RESIZE_BILINEAR => {
                let o = self.opts();
                Op::ResizeBilinear(Resize {
                    align_corners: o.bool(2)?,
                    half_pixel_centers: o.bool(3)?,
                })
            }
            c::RESIZE_NEAREST_NEIGHBOR => {
                let o = self.opts();
                Op::ResizeNearestNeighbor(Resize {
                    align_corners: o.bool(0)?,
                    half_pixel_centers: o.bool(1)?,
                })
            }
            c::DEPTH_TO_SPACE => Op::DepthToSpace {
                block_size: self.positive("block_size", self.opts().i32(0, 0)?)?,
            },
            c::SPACE_TO_DEPTH => Op::SpaceToDepth {
                block_size: self.positive("block_size", self.opts().i32(0, 0)?)?,
            },
            c::BATCH_TO_SPACE_ND => Op::BatchToSpaceNd,
            c::SPACE_TO_BATCH_ND => Op::SpaceToBatchNd,
            c::CUMSUM => {
                let o = self.opts();
                Op::Cumsum {
                    exclusive: o.bool(0)?,
                    reverse: o.bool(1)?,
                }
            }
            c::ARG_MAX => Op::ArgMax {
                output_type: self.dtype(self.opts().i8(0, 4)?)?,
            },
            c::ARG_MIN => Op::ArgMin {
                output_type: self.dtype(self.opts().i8(0, 4)?)?,
            },
            c::CAST => Op::Cast,
            c::SELECT => Op::Select,
            c::SELECT_V2 => Op::SelectV2,
            c::QUANTIZE => Op::Quantize,
            c::DEQUANTIZE => Op::Dequantize,
            c::DENSIFY => Op::Densify,
            c::RANGE => Op::Range,
            c::SHAPE => Op::Shape {
                out_type: self.dtype(self.opts().i8(0, 2)?)?,
            },
            c::RANK => Op::Rank,
            c::FILL => Op::Fill,
            c::ZEROS_LIKE => Op::ZerosLike,
            c::REVERSE_V2 => Op::ReverseV2,
            c::ONE_HOT => Op::OneHot {
                axis: self.opts().i32(0, -1)?,
            },
            c::TOPK_V2 => Op::TopKV2,
            c::BROADCAST_TO => Op::BroadcastTo,
            c::BROADCAST_ARGS => Op::BroadcastArgs,
            c::EMBEDDING_LOOKUP => Op::EmbeddingLookup,
            c::ADD_N => Op::AddN,
            c::RFFT2D => Op::Rfft2d,
            c::COMPLEX_ABS => Op::ComplexAbs,
            c::REAL => Op::Real,
            c::IMAG => Op::Imag,
            c::UNIDIRECTIONAL_SEQUENCE_LSTM => {
                let o = self.opts();
                Op::UnidirectionalSequenceLstm(Lstm {
                    activation: self.activation(o.i8(0, 0)?)?,
                    cell_clip: o.f32(1, 0.0)?,
                    proj_clip: o.f32(2, 0.0)?,
                    time_major: o.bool(3)?,
                    asymmetric_quantize_inputs: o.bool(4)?,
                })
            }
            c::WHILE => {
                let o = self.opts();
                Op::While {
                    cond: self.subgraph_index(o.i32(0, -1)?)?,
                    body: self.subgraph_index(o.i32(1, -1)?)?,
                }
            }
            c::IF => {
                let o = self.opts();
                Op::If {
                    then_branch: self.subgraph_index(o.i32(0, -1)?)?,
                    else_branch: self.subgraph_index(o.i32(1, -1)?)?,
                }
            }
            c::NON_MAX_SUPPRESSION_V4 => Op::NonMaxSuppressionV4,
            c::NON_MAX_SUPPRESSION_V5 => Op::NonMaxSuppressionV5,
            c::CUSTOM => self.decode_custom()?,
            _ => Op::Unknown { name: self.name() },
        })
    }

    fn subgraph_index(&self, v: i32) -> Result<usize> {
        usize::try_from(v).map_err(|_| self.err(format!("subgraph index {v} is negative")))
    }

    fn pool(&self, o: Opts<'_>) -> Result<Pool2D> {
        Ok(Pool2D {
            padding: self.padding(o.i8(0, 0)?)?,
            stride_w: self.positive("stride_w", o.i32(1, 0)?)?,
            stride_h: self.positive("stride_h", o.i32(2, 0)?)?,
            filter_w: self.positive("filter_width", o.i32(3, 0)?)?,
            filter_h: self.positive("filter_height", o.i32(4, 0)?)?,
            activation: self.activation(o.i8(5, 0)?)?,
        })
    }

    /// MediaPipe custom ops carry the C parameter structs of LiteRT as raw bytes:
    /// `TfLitePoolParams` {padding, stride_w, stride_h, filter_w, filter_h, activation}
    /// and `TfLiteTransposeConvParams` {padding, stride_w, stride_h[, activation]},
    /// each field an int32, padding 1 = SAME, 2 = VALID.
    fn decode_custom(&self) -> Result<Op> {
        let name = self.name();
        let words: Vec<i32> = self
            .custom_options
            .unwrap_or(&[])
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let padding = |w: i32| {
            Padding::from_c(w)
                .ok_or_else(|| self.err(format!("unknown padding {w} in custom options")))
        };
        let need = |n: usize| {
            if words.len() < n {
                Err(self.err(format!(
                    "custom options hold {} bytes, expected at least {}",
                    words.len() * 4,
                    n * 4
                )))
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "Convolution2DTransposeBias" => {
                need(3)?;
                Ok(Op::TransposeConvBias(TransposeConv {
                    padding: padding(words[0])?,
                    stride_w: self.positive("stride_w", words[1])?,
                    stride_h: self.positive("stride_h", words[2])?,
                    activation: Activation::None,
                }))
            }
            "MaxPoolingWithArgmax2D" | "MaxUnpooling2D" => {
                need(5)?;
                let act = match words.get(5) {
                    Some(&a) => self.activation(a as i8)?,
                    None => Activation::None,
                };
                let p = Pool2D {
                    padding: padding(words[0])?,
                    stride_w: self.positive("stride_w", words[1])?,
                    stride_h: self.positive("stride_h", words[2])?,
                    filter_w: self.positive("filter_width", words[3])?,
                    filter_h: self.positive("filter_height", words[4])?,
                    activation: act,
                };
                Ok(if name == "MaxUnpooling2D" {
                    Op::MaxUnpooling(p)
                } else {
                    Op::MaxPoolWithArgmax(p)
                })
            }
            DetectionPostProcess::CUSTOM_CODE => {
                super::detection::decode(self.custom_options.unwrap_or(&[]))
                    .map(Op::DetectionPostProcess)
                    .map_err(|e| self.err(e.to_string()))
            }
            "Landmarks2TransformMatrix"
            | "TransformTensor"
            | "TransformTensorBilinear"
            | "TransformLandmarks" => self.decode_mediapipe(&name).map(Op::MediaPipe),
            _ => Ok(Op::Unknown { name }),
        }
    }
}
