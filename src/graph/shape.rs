//! Shape rules shared by every backend, so that the CPU kernels and the GPU
//! lowerings resolve an op's parameters identically.

use super::op::{Padding, StridedSlice};

/// Output size and leading (top or left) pad of one spatial axis of a convolution
/// or pool (TFLite `ComputePaddingHeightWidth`): SAME gives ceil(input / stride)
/// outputs, VALID the windows that fit; the total pad is split with the extra pixel
/// at the end. `kernel` is the filter size before dilation. None when the stride,
/// dilation or kernel is zero or the dilated kernel overflows.
pub fn padding(
    padding: Padding,
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<(usize, usize)> {
    if stride == 0 || dilation == 0 || kernel == 0 {
        return None;
    }
    let eff = (kernel - 1).checked_mul(dilation)?.checked_add(1)?;
    let out = match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => {
            if input < eff {
                0
            } else {
                (input - eff) / stride + 1
            }
        }
    };
    let total = (out.saturating_sub(1) * stride + eff).saturating_sub(input);
    Some((out, total / 2))
}

/// Output size of one spatial axis of a transposed convolution or unpooling whose
/// output shape is not given: SAME gives input * stride, VALID
/// (input - 1) * stride + kernel.
pub fn transposed_size(padding: Padding, input: usize, kernel: usize, stride: usize) -> usize {
    match padding {
        Padding::Same => input * stride,
        Padding::Valid => input.saturating_sub(1) * stride + kernel,
    }
}

/// Spatial geometry of one 2-D convolution over NHWC tensors: batch, input
/// size and channels, output size, filter size, strides, dilations and the
/// top/left padding. Both backends build it here, so that a node's output size
/// and padding are the same on the CPU and the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch.
    pub n: usize,
    /// Input height.
    pub ih: usize,
    /// Input width.
    pub iw: usize,
    /// Input channels.
    pub ic: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Filter height (before dilation).
    pub kh: usize,
    /// Filter width (before dilation).
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Vertical dilation.
    pub dh: usize,
    /// Horizontal dilation.
    pub dw: usize,
    /// Padding above the first input row.
    pub pt: usize,
    /// Padding left of the first input column.
    pub pl: usize,
}

impl ConvGeometry {
    /// A convolution (CONV_2D, DEPTHWISE_CONV_2D) of an `[n, ih, iw, ic]` input
    /// by a `[kh, kw]` filter: output size and padding from [`padding`] on each
    /// axis. None when a stride, dilation or filter size is zero or the dilated
    /// filter overflows.
    pub fn forward(
        mode: Padding,
        [n, ih, iw, ic]: [usize; 4],
        [kh, kw]: [usize; 2],
        [sh, sw]: [usize; 2],
        [dh, dw]: [usize; 2],
    ) -> Option<ConvGeometry> {
        let (oh, pt) = padding(mode, ih, kh, sh, dh)?;
        let (ow, pl) = padding(mode, iw, kw, sw, dw)?;
        Some(ConvGeometry {
            n,
            ih,
            iw,
            ic,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pt,
            pl,
        })
    }

    /// A transposed convolution (TRANSPOSE_CONV) of an `[n, ih, iw, ic]` input
    /// into `[oh, ow]` outputs, without dilation. The padding is LiteRT's: that
    /// of the forward convolution from the output size. None when a stride or
    /// filter size is zero.
    pub fn transposed(
        mode: Padding,
        [n, ih, iw, ic]: [usize; 4],
        [kh, kw]: [usize; 2],
        [sh, sw]: [usize; 2],
        [oh, ow]: [usize; 2],
    ) -> Option<ConvGeometry> {
        let pad = |o: usize, k: usize, s: usize| -> Option<usize> {
            let (wo, _) = padding(mode, o, k, s, 1)?;
            Some((wo.saturating_sub(1) * s + k).saturating_sub(o) / 2)
        };
        Some(ConvGeometry {
            n,
            ih,
            iw,
            ic,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            dh: 1,
            dw: 1,
            pt: pad(oh, kh, sh)?,
            pl: pad(ow, kw, sw)?,
        })
    }
}

/// Row-major strides of a shape.
fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Why STRIDED_SLICE's parameters cannot be resolved against its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SliceError {
    /// `begin`, `end` and `strides` differ in length (or exceed 31 entries).
    #[error("begin, end and strides differ in length")]
    Lengths,
    /// More indices than the input has dimensions.
    #[error("{indices} indices for an input of rank {rank}")]
    TooManyIndices {
        /// Indices given (not counting the ellipsis and new axes).
        indices: usize,
        /// The input's rank.
        rank: usize,
    },
    /// The expanded slice has more dimensions than the kernel supports.
    #[error("too many dimensions ({0})")]
    TooManyDimensions(usize),
    /// The ellipsis and new-axis masks do not fit the input's rank.
    #[error("masks do not fit the input rank")]
    MasksVsRank,
    /// The masks do not fit the number of indices.
    #[error("masks do not fit the index count")]
    MasksVsIndices,
    /// A stride is zero.
    #[error("stride must be non-zero")]
    ZeroStride,
    /// A shrunk axis indexes outside its dimension.
    #[error("index {index} out of range for dimension {dim}")]
    ShrinkIndex {
        /// The index as given.
        index: i64,
        /// The dimension's size.
        dim: i64,
    },
}

/// Per effective axis of a strided slice: (count, start, step, input stride, shrink).
pub type SliceAxes = Vec<(usize, i64, i64, i64, bool)>;

/// Resolve STRIDED_SLICE begin/end/strides and masks against `in_shape` exactly as
/// LiteRT's BuildStridedSliceParams and reference kernel do: the ellipsis and new
/// axes are expanded, starts and stops clamped per stride sign, shrunk axes checked.
pub fn strided_slice_axes(
    in_shape: &[usize],
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    p: &StridedSlice,
) -> Result<SliceAxes, SliceError> {
    let n = begin.len();
    if end.len() != n || strides.len() != n || n > 31 {
        return Err(SliceError::Lengths);
    }
    let bit = |m: i32, i: usize| i < 32 && (m >> i) & 1 != 0;
    let in_rank = in_shape.len() as i64;
    let num_add_axis = (0..n)
        .filter(|&i| !bit(p.ellipsis_mask, i) && bit(p.new_axis_mask, i))
        .count() as i64;
    let eff = (in_rank + num_add_axis) as usize;
    let real_specs = (0..n)
        .filter(|&i| !bit(p.ellipsis_mask, i) && !bit(p.new_axis_mask, i))
        .count() as i64;
    if real_specs > in_rank {
        return Err(SliceError::TooManyIndices {
            indices: n,
            rank: in_rank as usize,
        });
    }
    if eff > 31 {
        return Err(SliceError::TooManyDimensions(eff));
    }
    let mut ell_mask = 0u64;
    let mut new_mask = 0u64;
    let mut ell_start = eff;
    let mut expanded = 0usize;
    let mut i = 0usize;
    while i < eff {
        if bit(p.ellipsis_mask, i) {
            ell_start = i;
            let e_end = ((i as i64 + 1 + num_add_axis + in_rank - n as i64).min(eff as i64))
                .max(i as i64 + 1) as usize;
            expanded = e_end - i - 1;
            while i < e_end {
                ell_mask |= 1 << i;
                i += 1;
            }
            continue;
        }
        if i >= expanded && bit(p.new_axis_mask, i - expanded) {
            new_mask |= 1 << i;
        }
        i += 1;
    }
    struct Ax {
        dim: i64,
        start: i64,
        stop: i64,
        stride: i64,
        bm: bool,
        em: bool,
        shrink: bool,
        new: bool,
    }
    let mut axes = Vec::with_capacity(eff);
    let mut added_axes = 0usize;
    let mut added_ell = 0usize;
    for i in 0..eff {
        let in_dim = |k: usize| {
            in_shape
                .get(k)
                .map(|&d| d as i64)
                .ok_or(SliceError::MasksVsRank)
        };
        let full = |dim| Ax {
            dim,
            start: 0,
            stop: 0,
            stride: 1,
            bm: true,
            em: true,
            shrink: false,
            new: false,
        };
        if ell_mask >> i & 1 != 0 {
            added_ell = i.saturating_sub(ell_start);
            axes.push(full(in_dim(i - added_axes)?));
        } else if new_mask >> i & 1 != 0 {
            axes.push(Ax {
                dim: 1,
                start: 0,
                stop: 1,
                stride: 1,
                bm: false,
                em: false,
                shrink: false,
                new: true,
            });
            added_axes += 1;
        } else if i >= n + expanded {
            axes.push(full(in_dim(i - added_axes)?));
        } else {
            let o = i - added_ell;
            if o >= n {
                return Err(SliceError::MasksVsIndices);
            }
            axes.push(Ax {
                dim: in_dim(i - added_axes)?,
                start: begin[o],
                stop: end[o],
                stride: strides[o],
                bm: bit(p.begin_mask, o),
                em: bit(p.end_mask, o),
                shrink: bit(p.shrink_axis_mask, o),
                new: false,
            });
        }
    }
    if added_axes + in_shape.len() != eff {
        return Err(SliceError::MasksVsRank);
    }
    let in_st = strides_of(in_shape);
    let mut k = 0;
    let mut out = Vec::with_capacity(eff);
    for a in &axes {
        if a.stride == 0 {
            return Err(SliceError::ZeroStride);
        }
        let clamp = |x: i64| {
            if a.stride > 0 {
                x.clamp(0, a.dim)
            } else {
                x.clamp(-1, a.dim - 1)
            }
        };
        let mut start = a.start;
        if start < 0 {
            start += a.dim;
        }
        start = clamp(start);
        if a.bm {
            start = if a.stride > 0 { 0 } else { a.dim - 1 };
        }
        let count = if a.shrink {
            if start < 0 || start >= a.dim {
                return Err(SliceError::ShrinkIndex {
                    index: a.start,
                    dim: a.dim,
                });
            }
            1
        } else {
            let mut stop = a.stop;
            if p.offset {
                stop = stop.saturating_add(start);
            }
            if stop < 0 {
                stop += a.dim;
            }
            stop = clamp(stop);
            if a.em {
                stop = if a.stride > 0 { a.dim } else { -1 };
            }
            let c = ((stop - start) as f64 / a.stride as f64).ceil() as i64;
            c.max(0)
        };
        let st = if a.new {
            0
        } else {
            k += 1;
            in_st[k - 1] as i64
        };
        out.push((count as usize, start, a.stride, st, a.shrink));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_and_valid_padding_follow_tflite() {
        // 7 wide, 3x3 kernel, stride 2: SAME 4 outputs with one pixel each side.
        assert_eq!(padding(Padding::Same, 7, 3, 2, 1), Some((4, 1)));
        assert_eq!(padding(Padding::Valid, 7, 3, 2, 1), Some((3, 0)));
        // Even total pad: the extra pixel goes at the end.
        assert_eq!(padding(Padding::Same, 8, 3, 2, 1), Some((4, 0)));
        assert_eq!(padding(Padding::Same, 5, 3, 1, 2), Some((5, 2)));
        assert_eq!(padding(Padding::Valid, 2, 3, 1, 1), Some((0, 0)));
        assert_eq!(padding(Padding::Same, 5, 3, 0, 1), None);
        assert_eq!(padding(Padding::Same, 5, 0, 1, 1), None);
        assert_eq!(padding(Padding::Same, 5, usize::MAX, 1, 2), None);
    }

    #[test]
    fn transposed_sizes() {
        assert_eq!(transposed_size(Padding::Same, 4, 3, 2), 8);
        assert_eq!(transposed_size(Padding::Valid, 4, 3, 2), 9);
        assert_eq!(transposed_size(Padding::Valid, 0, 3, 2), 3);
    }

    #[test]
    fn convolution_geometry_of_both_directions() {
        // 7x9 input, 3x3 filter, stride 2, dilation 1, SAME: 4x5 outputs.
        let g = ConvGeometry::forward(Padding::Same, [1, 7, 9, 8], [3, 3], [2, 2], [1, 1])
            .expect("valid");
        assert_eq!([g.oh, g.ow, g.pt, g.pl], [4, 5, 1, 1]);
        assert_eq!([g.n, g.ih, g.iw, g.ic, g.dh, g.dw], [1, 7, 9, 8, 1, 1]);
        let d = ConvGeometry::forward(Padding::Valid, [2, 8, 8, 3], [3, 3], [1, 1], [2, 2])
            .expect("valid");
        assert_eq!([d.oh, d.ow, d.pt, d.pl], [4, 4, 0, 0]);
        assert!(
            ConvGeometry::forward(Padding::Same, [1, 4, 4, 1], [3, 3], [0, 1], [1, 1]).is_none()
        );
        // Transposed 4x4 -> 8x8, 3x3 filter, stride 2, SAME: LiteRT pads the
        // forward convolution of the output (4 outputs, total pad 1) by 0.
        let t = ConvGeometry::transposed(Padding::Same, [1, 4, 4, 2], [3, 3], [2, 2], [8, 8])
            .expect("valid");
        assert_eq!([t.oh, t.ow, t.pt, t.pl, t.dh, t.dw], [8, 8, 0, 0, 1, 1]);
        let v = ConvGeometry::transposed(Padding::Valid, [1, 4, 4, 2], [3, 3], [2, 2], [9, 9])
            .expect("valid");
        assert_eq!([v.pt, v.pl], [0, 0]);
        assert!(
            ConvGeometry::transposed(Padding::Same, [1, 4, 4, 2], [0, 3], [2, 2], [8, 8]).is_none()
        );
    }
}
