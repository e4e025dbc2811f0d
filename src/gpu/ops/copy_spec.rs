//! The copy kernel's regions (shaders/copy.wgsl) and the read access the layout
//! planner has to a node: one [`CopySpec`] per dispatch copies (a view of) one input
//! into (a sub-region of) one output, dimension by dimension ([`Dim`]).

use super::MAX_RANK;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::{DType, Node, Subgraph, TensorInfo};

uniforms! {
    /// `Params` of shaders/copy.wgsl: the region's size, destination offset, a
    /// source base offset, the pad value and an optional clamp, then one entry
    /// per dimension (padded with leading 1s to rank 6) of each [`Dim`] field.
    struct CopyParams {
        n: u32,
        out_offset: u32,
        base: i32,
        pad_value: f32,
        act_min: f32,
        act_max: f32,
        do_clamp: u32,
        _pad: u32,
        shape: [u32; 8],
        out_strides: [u32; 8],
        step: [i32; 8],
        start: [i32; 8],
        in_dim: [i32; 8],
        in_stride: [i32; 8],
        mode: [u32; 8],
    }
}

/// Per-dimension source addressing mode of the copy kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// src = out * step + start.
    Direct = 0,
    /// (out * step + start) % in_dim (tile).
    Modulo = 1,
    /// Outside [0, in_dim) reads the pad value.
    Pad = 2,
    /// Mirror REFLECT (edge excluded).
    Reflect = 3,
    /// Mirror SYMMETRIC (edge included).
    Symmetric = 4,
}

/// One dimension of a copy region.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dim {
    /// Size of the region along this dimension.
    pub(super) size: usize,
    /// Destination stride (elements).
    pub(super) out_stride: usize,
    /// Source coordinate step.
    pub(super) step: i64,
    /// Source coordinate start.
    pub(super) start: i64,
    /// Source dimension size (modulo, pad and mirror modes).
    pub(super) in_dim: i64,
    /// Source stride (elements).
    pub(super) in_stride: i64,
    /// Addressing mode.
    pub(super) mode: Mode,
}

impl Dim {
    /// A direct dimension: region size `size`, contiguous strides filled in later.
    pub(super) fn direct(size: usize, in_stride: i64) -> Dim {
        Dim {
            size,
            out_stride: 0,
            step: 1,
            start: 0,
            in_dim: size as i64,
            in_stride,
            mode: Mode::Direct,
        }
    }
}

/// One dispatch of the copy kernel: input `input` into output `output`.
#[derive(Debug, Clone)]
pub(super) struct CopySpec {
    pub(super) input: usize,
    pub(super) output: usize,
    pub(super) dims: Vec<Dim>,
    pub(super) out_offset: usize,
    pub(super) base: i64,
    pub(super) pad_value: f32,
    pub(super) clamp: Option<(f32, f32)>,
}

impl CopySpec {
    pub(super) fn new(input: usize, output: usize, dims: Vec<Dim>) -> CopySpec {
        CopySpec {
            input,
            output,
            dims,
            out_offset: 0,
            base: 0,
            pad_value: 0.0,
            clamp: None,
        }
    }

    /// Set destination strides to the row-major strides of the region itself.
    pub(super) fn contiguous_out(mut self) -> CopySpec {
        let shape: Vec<usize> = self.dims.iter().map(|d| d.size).collect();
        for (d, s) in self.dims.iter_mut().zip(strides_of(&shape)) {
            d.out_stride = s;
        }
        self
    }

    /// Destination strides of an enclosing output of shape `shape` (same rank).
    pub(super) fn out_strides(mut self, shape: &[usize]) -> CopySpec {
        for (d, s) in self.dims.iter_mut().zip(strides_of(shape)) {
            d.out_stride = s;
        }
        self
    }

    pub(super) fn elements(&self) -> usize {
        self.dims.iter().map(|d| d.size).product()
    }

    /// Uniform words (layout of `Params` in shaders/copy.wgsl).
    pub(super) fn params(&self) -> Support<CopyParams> {
        if self.dims.len() > MAX_RANK {
            return Err(format!("copy of rank {} > {MAX_RANK}", self.dims.len()).into());
        }
        let fit_i = |v: i64| {
            i32::try_from(v).map_err(|_| Unsupported::from(format!("offset {v} exceeds i32")))
        };
        let fit_u = |v: usize| {
            u32::try_from(v).map_err(|_| Unsupported::from(format!("offset {v} exceeds u32")))
        };
        let (lo, hi) = self.clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        let mut w = CopyParams {
            n: fit_u(self.elements())?,
            out_offset: fit_u(self.out_offset)?,
            base: fit_i(self.base)?,
            pad_value: self.pad_value,
            act_min: lo,
            act_max: hi,
            do_clamp: u32::from(self.clamp.is_some()),
            ..Default::default()
        };
        let pad = MAX_RANK - self.dims.len();
        let ones = Dim {
            size: 1,
            out_stride: 0,
            step: 0,
            start: 0,
            in_dim: 1,
            in_stride: 0,
            mode: Mode::Direct,
        };
        let all: Vec<Dim> = std::iter::repeat_n(ones, pad)
            .chain(self.dims.iter().copied())
            .collect();
        let u = |f: &dyn Fn(&Dim) -> Support<u32>| {
            let mut v = [0u32; 8];
            for (slot, d) in v.iter_mut().zip(&all) {
                *slot = f(d)?;
            }
            Ok::<[u32; 8], String>(v)
        };
        let i = |f: &dyn Fn(&Dim) -> i64| {
            let mut v = [0i32; 8];
            for (slot, d) in v.iter_mut().zip(&all) {
                *slot = fit_i(f(d))?;
            }
            Ok::<[i32; 8], String>(v)
        };
        w.shape = u(&|d| fit_u(d.size))?;
        w.out_strides = u(&|d| fit_u(d.out_stride))?;
        w.step = i(&|d| d.step)?;
        w.start = i(&|d| d.start)?;
        w.in_dim = i(&|d| d.in_dim)?;
        w.in_stride = i(&|d| d.in_stride)?;
        w.mode = u(&|d| Ok(d.mode as u32))?;
        Ok(w)
    }
}

/// What a node lowers to.
pub(super) enum Plan {
    /// Output 0 shares input 0's storage.
    Alias,
    /// Copy dispatches.
    Copies(Vec<CopySpec>),
}

/// Row-major strides of `shape`.
pub(super) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Direct dims over a whole tensor of shape `shape`.
pub(super) fn ident(shape: &[usize]) -> Vec<Dim> {
    shape
        .iter()
        .zip(strides_of(shape))
        .map(|(&s, st)| Dim::direct(s, st as i64))
        .collect()
}

pub(super) type Res<T> = Support<T>;

/// Read access to a node's tensors for planning.
pub(super) struct View<'a> {
    pub(super) node: &'a Node,
    pub(super) sg: &'a Subgraph,
}

impl View<'_> {
    pub(super) fn info(&self, i: usize) -> Res<&TensorInfo> {
        self.node
            .input(i)
            .map(|t| &self.sg.tensors[t])
            .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
    }

    pub(super) fn out(&self, i: usize) -> Res<&TensorInfo> {
        self.node
            .outputs
            .get(i)
            .map(|&t| &self.sg.tensors[t])
            .ok_or_else(|| Unsupported::from(format!("missing output {i}")))
    }

    pub(super) fn num_inputs(&self) -> usize {
        self.node.inputs.len()
    }

    /// Integer values of constant input `i` (`what` names it in the refusal).
    pub(super) fn ints(&self, i: usize, what: &str) -> Res<Vec<i64>> {
        super::const_ints(self.info(i)?).map_err(|e| Unsupported::from(format!("{what}: {e}")))
    }

    /// Whether the node moves quantized integers (its first output is one).
    pub(super) fn quantized(&self) -> bool {
        self.out(0)
            .map(|o| super::quant::is_quant_dtype(o.dtype))
            .unwrap_or(false)
    }

    /// Ok when `info` has the data type the node moves: float32, or the quantized
    /// integer type of output 0 with the same quantization (the copy kernel moves
    /// raw values and does not requantize).
    pub(super) fn check_type(&self, info: &TensorInfo) -> Res<()> {
        if info.dtype == DType::F32 {
            return Ok(());
        }
        let o = self.out(0)?;
        if super::quant::is_quant_dtype(info.dtype) && info.dtype == o.dtype {
            if info.quantization == o.quantization {
                return Ok(());
            }
            return Err(format!(
                "tensor {} is quantized differently from the output; requantizing runs on the CPU",
                info.name
            )
            .into());
        }
        Err(format!(
            "tensor {} is {}, the GPU path runs float32 and quantized tensors",
            info.name, info.dtype
        )
        .into())
    }

    /// A data input (runtime or constant) of the node's data type.
    pub(super) fn data(&self, i: usize) -> Res<&TensorInfo> {
        let info = self.info(i)?;
        self.check_type(info)?;
        Ok(info)
    }

    /// Output `i`, which must have the node's data type and shape `shape`.
    pub(super) fn check_out(&self, i: usize, shape: &[usize]) -> Res<()> {
        let o = self.out(i)?;
        self.check_type(o)?;
        if o.shape != shape {
            return Err(format!(
                "output {} has shape {:?}, expected {shape:?}",
                o.name, o.shape
            )
            .into());
        }
        Ok(())
    }
}

/// Resolve a possibly negative axis against `rank`.
pub(super) fn axis_of(a: i64, rank: usize) -> Res<usize> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if v < 0 || v >= r {
        return Err(format!("axis {a} out of range for rank {rank}").into());
    }
    Ok(v as usize)
}

/// The single value of a one-element axis tensor.
pub(super) fn one_axis(v: &[i64]) -> Res<i64> {
    match v {
        [a] => Ok(*a),
        _ => Err("axis must hold one value".into()),
    }
}
