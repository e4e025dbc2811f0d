//! Typed ops from a runtime node: its builtin code plus the C parameter struct in
//! `builtin_data` (the flatbuffer reader's counterpart is `model::options`).

use super::abi::*;
use super::error::{CapiError, CapiResult};
use crate::graph::op::*;
use crate::graph::{DType, Op};
use crate::model::{builtin_name, code, decode_op};
use std::ffi::c_void;

/// The crate's type for a `TfLiteType` code.
pub fn dtype_of(t: i32) -> Option<DType> {
    use DType::*;
    Some(match t {
        1 => F32,
        2 => I32,
        3 => U8,
        4 => I64,
        5 => String,
        6 => Bool,
        7 => I16,
        8 => Complex64,
        9 => I8,
        10 => F16,
        11 => F64,
        12 => Complex128,
        13 => U64,
        14 => Resource,
        15 => Variant,
        16 => U32,
        17 => U16,
        18 => Int4,
        19 => BF16,
        _ => return None,
    })
}

fn activation(code: i32) -> CapiResult<Activation> {
    i8::try_from(code)
        .ok()
        .and_then(Activation::from_code)
        .ok_or_else(|| CapiError::from(format!("fused activation {code} is not supported")))
}

fn padding(code: i32) -> CapiResult<Padding> {
    Padding::from_c(code)
        .ok_or_else(|| CapiError::from(format!("padding {code} is not SAME or VALID")))
}

fn positive(what: &str, v: i32) -> CapiResult<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| CapiError::from(format!("{what} must be positive, got {v}")))
}

/// Reads `builtin_data` as a `T`; an error when the runtime gave none.
///
/// # Safety
/// `data` is NULL or points to the runtime's parameter struct for this op, whose
/// layout starts with `T`.
unsafe fn params<'a, T>(data: *const c_void) -> CapiResult<&'a T> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if data.is_null() {
            Err("the runtime gave no builtin parameters".into())
        } else {
            Ok(&*data.cast::<T>())
        }
    }
}

/// Decode one runtime node. `output_dtype` is the type of its first output (ARG_MAX
/// and ARG_MIN take their index type from it). Ops this crate does not know become
/// [`Op::Unknown`]; a malformed parameter struct is an error.
///
/// # Safety
/// `builtin_data` and `custom` are what the runtime stored in the node for this op.
pub unsafe fn decode(
    node: usize,
    builtin_code: i32,
    custom_name: Option<String>,
    builtin_data: *const c_void,
    custom: Option<&[u8]>,
    output_dtype: Option<DType>,
) -> CapiResult<Op> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        use code as c;
        let d = builtin_data;
        let binary =
            |b: Binary, act: i32| -> CapiResult<Op> { Ok(Op::Binary(b, activation(act)?)) };
        let pool = |p: &TfLitePoolParams| -> CapiResult<Pool2D> {
            Ok(Pool2D {
                padding: padding(p.padding)?,
                stride_w: positive("stride_w", p.stride_width)?,
                stride_h: positive("stride_h", p.stride_height)?,
                filter_w: positive("filter_width", p.filter_width)?,
                filter_h: positive("filter_height", p.filter_height)?,
                activation: activation(p.activation)?,
            })
        };
        let reduce = |kind: Reduce| -> CapiResult<Op> {
            Ok(Op::Reduce {
                kind,
                keep_dims: params::<bool>(d).copied().unwrap_or(false),
            })
        };
        let index_type = || output_dtype.unwrap_or(DType::I64);
        Ok(match builtin_code {
            c::ADD | c::SUB => {
                let p = params::<TfLiteAddParams>(d)?;
                let b = if builtin_code == c::ADD {
                    Binary::Add
                } else {
                    Binary::Sub
                };
                binary(b, p.activation)?
            }
            c::MUL | c::DIV => {
                let p = params::<TfLiteActivationParams>(d)?;
                let b = if builtin_code == c::MUL {
                    Binary::Mul
                } else {
                    Binary::Div
                };
                binary(b, p.activation)?
            }
            c::CONV_2D => {
                let p = params::<TfLiteConvParams>(d)?;
                Op::Conv2D(Conv2D {
                    padding: padding(p.padding)?,
                    stride_w: positive("stride_w", p.stride_width)?,
                    stride_h: positive("stride_h", p.stride_height)?,
                    activation: activation(p.activation)?,
                    dilation_w: positive("dilation_w", p.dilation_width_factor)?,
                    dilation_h: positive("dilation_h", p.dilation_height_factor)?,
                })
            }
            c::DEPTHWISE_CONV_2D => {
                let p = params::<TfLiteDepthwiseConvParams>(d)?;
                Op::DepthwiseConv2D(DepthwiseConv2D {
                    padding: padding(p.padding)?,
                    stride_w: positive("stride_w", p.stride_width)?,
                    stride_h: positive("stride_h", p.stride_height)?,
                    depth_multiplier: p.depth_multiplier.max(0) as usize,
                    activation: activation(p.activation)?,
                    dilation_w: positive("dilation_w", p.dilation_width_factor)?,
                    dilation_h: positive("dilation_h", p.dilation_height_factor)?,
                })
            }
            c::TRANSPOSE_CONV => {
                let p = params::<TfLiteTransposeConvParams>(d)?;
                Op::TransposeConv(TransposeConv {
                    padding: padding(p.padding)?,
                    stride_w: positive("stride_w", p.stride_width)?,
                    stride_h: positive("stride_h", p.stride_height)?,
                    activation: activation(p.activation)?,
                })
            }
            c::AVERAGE_POOL_2D => Op::AveragePool2D(pool(params(d)?)?),
            c::MAX_POOL_2D => Op::MaxPool2D(pool(params(d)?)?),
            c::L2_POOL_2D => Op::L2Pool2D(pool(params(d)?)?),
            c::FULLY_CONNECTED => {
                let p = params::<TfLiteFullyConnectedParams>(d)?;
                if p.weights_format != 0 {
                    return Err(
                        format!("weights format {} is not supported", p.weights_format).into(),
                    );
                }
                Op::FullyConnected(FullyConnected {
                    activation: activation(p.activation)?,
                    keep_num_dims: p.keep_num_dims,
                    asymmetric_quantize_inputs: p.asymmetric_quantize_inputs,
                })
            }
            c::BATCH_MATMUL => {
                let p = params::<TfLiteBatchMatMulParams>(d)?;
                Op::BatchMatMul {
                    adj_x: p.adj_x,
                    adj_y: p.adj_y,
                    asymmetric_quantize_inputs: p.asymmetric_quantize_inputs,
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
                beta: *params::<f32>(d)?,
            },
            c::L2_NORMALIZATION => {
                Op::L2Normalization(activation(params::<TfLiteActivationParams>(d)?.activation)?)
            }
            c::RESHAPE => Op::Reshape {
                new_shape: params::<TfLiteReshapeParams>(d).ok().and_then(|p| {
                    let n = p.num_dimensions.clamp(0, 8) as usize;
                    (n > 0).then(|| p.shape[..n].to_vec())
                }),
            },
            c::SQUEEZE => {
                let p = params::<TfLiteSqueezeParams>(d)?;
                let n = p.num_squeeze_dims.clamp(0, 8) as usize;
                Op::Squeeze {
                    axes: p.squeeze_dims[..n].to_vec(),
                }
            }
            c::CONCATENATION => {
                let p = params::<TfLiteConcatenationParams>(d)?;
                Op::Concatenation {
                    axis: p.axis,
                    activation: activation(p.activation)?,
                }
            }
            c::SPLIT => Op::Split {
                num_splits: positive("num_splits", *params::<i32>(d)?)?,
            },
            c::SPLIT_V => Op::SplitV {
                num_splits: positive("num_splits", *params::<i32>(d)?)?,
            },
            c::STRIDED_SLICE => {
                let p = params::<TfLiteStridedSliceParams>(d)?;
                Op::StridedSlice(StridedSlice {
                    begin_mask: p.begin_mask,
                    end_mask: p.end_mask,
                    ellipsis_mask: p.ellipsis_mask,
                    new_axis_mask: p.new_axis_mask,
                    shrink_axis_mask: p.shrink_axis_mask,
                    offset: p.offset,
                })
            }
            c::GATHER => {
                let p = params::<TfLiteTwoInts>(d)?;
                Op::Gather {
                    axis: p.a,
                    batch_dims: p.b,
                }
            }
            c::PACK => Op::Pack {
                axis: params::<TfLiteTwoInts>(d)?.b,
            },
            c::UNPACK => {
                let p = params::<TfLiteTwoInts>(d)?;
                Op::Unpack {
                    num: p.a.max(0) as usize,
                    axis: p.b,
                }
            }
            c::MIRROR_PAD => Op::MirrorPad {
                // kTfLiteMirrorPaddingSymmetric is 2 (Reflect 1).
                symmetric: *params::<i32>(d)? == 2,
            },
            c::RESIZE_BILINEAR | c::RESIZE_NEAREST_NEIGHBOR => {
                let p = params::<TfLiteTwoBools>(d)?;
                let r = Resize {
                    align_corners: p.a,
                    half_pixel_centers: p.b,
                };
                if builtin_code == c::RESIZE_BILINEAR {
                    Op::ResizeBilinear(r)
                } else {
                    Op::ResizeNearestNeighbor(r)
                }
            }
            c::DEPTH_TO_SPACE => Op::DepthToSpace {
                block_size: positive("block_size", *params::<i32>(d)?)?,
            },
            c::SPACE_TO_DEPTH => Op::SpaceToDepth {
                block_size: positive("block_size", *params::<i32>(d)?)?,
            },
            c::CUMSUM => {
                let p = params::<TfLiteTwoBools>(d)?;
                Op::Cumsum {
                    exclusive: p.a,
                    reverse: p.b,
                }
            }
            c::ARG_MAX => Op::ArgMax {
                output_type: index_type(),
            },
            c::ARG_MIN => Op::ArgMin {
                output_type: index_type(),
            },
            c::GELU => Op::Unary(Unary::Gelu {
                approximate: params::<bool>(d).copied().unwrap_or(false),
            }),
            c::LEAKY_RELU => Op::Unary(Unary::LeakyRelu {
                alpha: *params::<f32>(d)?,
            }),
            _ => match decode_op(node, builtin_code, custom_name.clone(), custom) {
                Ok(op) => op,
                Err(_) => Op::Unknown {
                    name: custom_name.unwrap_or_else(|| builtin_name(builtin_code)),
                },
            },
        })
    }
}
