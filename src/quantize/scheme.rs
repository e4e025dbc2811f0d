//! The integer schemes of full-integer quantization: int8 (asymmetric int8
//! activations) and LiteRT's 16x8 (symmetric int16 activations with zero point 0,
//! symmetric per-channel int8 weights, int64 biases). [`Scheme`] holds what
//! differs between them: the activation type and parameters, the bias type, and
//! which ops have a LiteRT kernel with which output parameters. The pass itself is
//! in `int8.rs`.

use crate::graph::op::{Binary, Reduce, Unary};
use crate::graph::{DType, Op};

/// How an integer node's output parameters are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum OutParams {
    /// From the output's calibrated range.
    Calibrated,
    /// The same as the data input's (data-movement ops, pools).
    SameAsInput,
    /// Fixed by the kernel: (scale, zero point).
    Fixed(f32, i64),
    /// From the output's calibrated range, and every input (activations and
    /// constants) takes the output's parameters: the kernel moves or compares
    /// integer levels without rescaling them (CONCATENATION refuses anything else).
    Shared,
}

/// The output rule of an op with a LiteRT int8 kernel; None for ops that stay float.
fn int8_rule(op: &Op) -> Option<OutParams> {
    use OutParams::*;
    Some(match op {
        Op::Conv2D(_) | Op::DepthwiseConv2D(_) | Op::FullyConnected(_) => Calibrated,
        Op::Binary(Binary::Add | Binary::Sub | Binary::Mul, _) => Calibrated,
        Op::Binary(Binary::Maximum | Binary::Minimum, _) => Shared,
        Op::Concatenation { .. } => Shared,
        Op::Reduce {
            kind: Reduce::Mean | Reduce::Sum,
            ..
        } => Calibrated,
        Op::Reduce {
            kind: Reduce::Max | Reduce::Min,
            ..
        } => SameAsInput,
        Op::Unary(Unary::Relu | Unary::Relu6 | Unary::ReluN1To1 | Unary::HardSwish) => Calibrated,
        Op::Unary(Unary::LeakyRelu { .. }) => Calibrated,
        Op::Unary(Unary::Logistic) => Fixed(1.0 / 256.0, -128),
        Op::Unary(Unary::Tanh) => Fixed(1.0 / 128.0, 0),
        Op::Softmax { .. } => Fixed(1.0 / 256.0, -128),
        Op::AveragePool2D(_) | Op::MaxPool2D(_) => SameAsInput,
        Op::Reshape { .. } | Op::Squeeze { .. } | Op::ExpandDims | Op::Transpose => SameAsInput,
        Op::Pad | Op::Slice | Op::StridedSlice(_) | Op::Gather { .. } => SameAsInput,
        Op::SpaceToDepth { .. } | Op::DepthToSpace { .. } => SameAsInput,
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => SameAsInput,
        Op::Split { .. } | Op::SplitV { .. } | Op::Unpack { .. } => SameAsInput,
        Op::BatchToSpaceNd | Op::SpaceToBatchNd | Op::Tile => SameAsInput,
        _ => return None,
    })
}

/// Asymmetric int8 parameters for the real range [min, max] (widened to hold 0),
/// with the zero point nudged onto the integer grid as the converter does: on the
/// uint8 grid (ties round up), then shifted by 128.
fn affine_int8(min: f32, max: f32) -> (f32, i64) {
    let (min, max) = (min.min(0.0) as f64, max.max(0.0) as f64);
    let scale = (max - min) / 255.0;
    if scale <= 0.0 || !scale.is_finite() {
        return (1.0 / 255.0, -128);
    }
    let zp = (-min / scale).round().clamp(0.0, 255.0) as i64 - 128;
    (scale as f32, zp)
}

/// The integer scheme of a full-integer quantization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// int8 activations, int8 weights, int32 biases.
    Int8,
    /// int16 activations (zero point 0), int8 weights, int64 biases.
    Int16x8,
}

/// The output scale LiteRT's int16 LOGISTIC, TANH and SOFTMAX kernels take.
const INT16_UNIT_SCALE: f32 = 1.0 / 32768.0;

impl Scheme {
    /// The element type of quantized activations.
    pub(crate) fn dtype(self) -> DType {
        match self {
            Scheme::Int8 => DType::I8,
            Scheme::Int16x8 => DType::I16,
        }
    }

    /// The name used in tensor names and reasons ("int8", "int16").
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scheme::Int8 => "int8",
            Scheme::Int16x8 => "int16",
        }
    }

    /// The (scale, zero point) of an activation whose real range is [min, max].
    pub(crate) fn params(self, min: f32, max: f32) -> (f32, i64) {
        match self {
            Scheme::Int8 => affine_int8(min, max),
            Scheme::Int16x8 => symmetric_int16(min, max),
        }
    }

    /// The parameters of an activation without a calibrated range.
    pub(crate) fn fallback(self) -> (f32, i64) {
        match self {
            Scheme::Int8 => (1.0 / 255.0, -128),
            Scheme::Int16x8 => (INT16_UNIT_SCALE, 0),
        }
    }

    /// The lowest and highest level of an activation.
    pub(crate) fn levels(self) -> (f32, f32) {
        match self {
            Scheme::Int8 => (-128.0, 127.0),
            Scheme::Int16x8 => (-32768.0, 32767.0),
        }
    }

    /// The element type of the bias of a convolution or FULLY_CONNECTED.
    pub(crate) fn bias_dtype(self) -> DType {
        match self {
            Scheme::Int8 => DType::I32,
            Scheme::Int16x8 => DType::I64,
        }
    }

    /// How an op's output parameters are chosen, or None when LiteRT has no
    /// kernel for it in this scheme (it then stays float).
    pub(crate) fn rule(self, op: &Op) -> Option<OutParams> {
        match self {
            Scheme::Int8 => int8_rule(op),
            Scheme::Int16x8 => int16_rule(op),
        }
    }
}

/// Symmetric int16 parameters for the real range [min, max]: zero point 0 and the
/// scale that maps the larger magnitude to 32767, as the converter's 16x8 mode
/// chooses them.
fn symmetric_int16(min: f32, max: f32) -> (f32, i64) {
    let range = (min as f64).abs().max((max as f64).abs());
    let scale = range / 32767.0;
    if scale <= 0.0 || !scale.is_finite() || scale as f32 == 0.0 {
        return (INT16_UNIT_SCALE, 0);
    }
    (scale as f32, 0)
}

/// The ops LiteRT runs with int16 activations and int8 weights (the converter's
/// 16x8 set, less the ops its quantizer marks not quantizable in int16:
/// HARD_SWISH, RELU_N1_TO_1, SPACE_TO_DEPTH, DEPTH_TO_SPACE and others this crate
/// does not quantize). LOGISTIC, TANH and SOFTMAX write outputs of scale 1/32768.
fn int16_rule(op: &Op) -> Option<OutParams> {
    use OutParams::*;
    Some(match op {
        Op::Conv2D(_) | Op::DepthwiseConv2D(_) | Op::FullyConnected(_) => Calibrated,
        Op::Binary(Binary::Add | Binary::Sub | Binary::Mul, _) => Calibrated,
        Op::Binary(Binary::Maximum | Binary::Minimum, _) => Shared,
        Op::Concatenation { .. } | Op::Pack { .. } => Shared,
        Op::Reduce {
            kind: Reduce::Mean | Reduce::Sum,
            ..
        } => Calibrated,
        Op::Reduce {
            kind: Reduce::Max | Reduce::Min,
            ..
        } => SameAsInput,
        Op::Unary(Unary::Relu | Unary::Relu6 | Unary::LeakyRelu { .. }) => Calibrated,
        Op::Unary(Unary::Logistic | Unary::Tanh) | Op::Softmax { .. } => Fixed(INT16_UNIT_SCALE, 0),
        Op::AveragePool2D(_) | Op::MaxPool2D(_) => SameAsInput,
        Op::Reshape { .. } | Op::Squeeze { .. } | Op::ExpandDims | Op::Transpose => SameAsInput,
        Op::Pad | Op::Slice | Op::StridedSlice(_) | Op::Gather { .. } => SameAsInput,
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => SameAsInput,
        Op::Split { .. } | Op::SplitV { .. } | Op::Unpack { .. } => SameAsInput,
        Op::BatchToSpaceNd | Op::SpaceToBatchNd | Op::Tile => SameAsInput,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int16_parameters_are_symmetric_with_zero_point_zero() {
        assert_eq!(symmetric_int16(-2.0, 1.0), ((2.0f64 / 32767.0) as f32, 0));
        assert_eq!(symmetric_int16(0.0, 6.0), ((6.0f64 / 32767.0) as f32, 0));
        assert_eq!(symmetric_int16(0.0, 0.0), (INT16_UNIT_SCALE, 0));
    }

    #[test]
    fn ops_without_an_int16_kernel_stay_float() {
        let s = Scheme::Int16x8;
        assert!(s.rule(&Op::Unary(Unary::HardSwish)).is_none());
        assert!(s.rule(&Op::Unary(Unary::ReluN1To1)).is_none());
        assert!(Scheme::Int8.rule(&Op::Unary(Unary::HardSwish)).is_some());
        assert_eq!(
            s.rule(&Op::Unary(Unary::Logistic)),
            Some(OutParams::Fixed(1.0 / 32768.0, 0))
        );
    }

    #[test]
    fn relu6_range_maps_to_the_converters_parameters() {
        let (s, z) = affine_int8(0.0, 6.0);
        assert!((s - 6.0 / 255.0).abs() < 1e-9);
        assert_eq!(z, -128);
        let (s, z) = affine_int8(-1.0, 1.0);
        assert!((s - 2.0 / 255.0).abs() < 1e-9);
        assert_eq!(z, 0);
    }
}
