//! GPU lowerings, one file per op family: each declares its family with
//! [`gpu_op!`] (the nodes it claims, a support check that says why not, a
//! lowering that records dispatches into a [`ProgramBuilder`], and the
//! [`Shader`]s it owns with their typed uniforms), and [`FAMILIES`] lists them;
//! nothing here matches on ops.
//!
//! Adding a family: a file here (or a folder, as `conv/`) with its `mod` line
//! below, its `gpu_op!`, and its `OP` in [`FAMILIES`] (a family left out of the list fails
//! `registry_tests::every_family_is_listed`, and its `OP` is dead code).

use super::pipeline::WORKGROUP_SIZE;
use super::program::{BufId, DispatchSpec, Elem, ProgramBuilder};
use super::shader::{Shader, Uniform};
use crate::error::{Error, Result};
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::eval::NodeEval;
use crate::graph::{DType, Node, Subgraph, TensorInfo};
use std::collections::HashMap;

/// Declares a GPU op family: the unit struct `$ty`, its `static OP` (listed in
/// [`FAMILIES`]) and its [`GpuOp`] impl, from the family's functions (named
/// functions or closures): `claims(&Node, &Subgraph) -> bool`,
/// `support(&Node, &Subgraph) -> Support` (or, for a check that
/// reads the [`Caps`], `support_with_caps(&Node, &Subgraph, &Caps)`) and
/// `lower(&mut LowerCtx) -> Result<()>`, and the shaders its lowerings dispatch.
macro_rules! gpu_op {
    (
        $(#[$meta:meta])*
        $ty:ident $name:literal {
            claims: $claims:expr,
            $(support: $support:expr,)?
            $(support_with_caps: $support_caps:expr,)?
            lower: $lower:expr,
            shaders: [$($shader:expr),* $(,)?] $(,)?
        }
    ) => {
        $(#[$meta])*
        pub(crate) struct $ty;

        /// The family's entry in [`FAMILIES`](crate::gpu::ops::FAMILIES).
        pub(crate) static OP: $ty = $ty;

        impl $crate::gpu::ops::GpuOp for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            #[cfg(test)]
            fn module(&self) -> &'static str {
                module_path!()
            }

            fn claims(&self, node: &$crate::graph::Node, sg: &$crate::graph::Subgraph) -> bool {
                let claims: fn(&$crate::graph::Node, &$crate::graph::Subgraph) -> bool = $claims;
                claims(node, sg)
            }

            fn support(
                &self,
                node: &$crate::graph::Node,
                sg: &$crate::graph::Subgraph,
                // Read only by checks declared with `support_with_caps`.
                _caps: &$crate::gpu::ops::Caps,
            ) -> Support {
                $(
                    let support: fn(
                        &$crate::graph::Node,
                        &$crate::graph::Subgraph,
                    ) -> Support = $support;
                    support(node, sg)
                )?
                $(
                    let support: fn(
                        &$crate::graph::Node,
                        &$crate::graph::Subgraph,
                        &$crate::gpu::ops::Caps,
                    ) -> Support = $support_caps;
                    support(node, sg, _caps)
                )?
            }

            fn lower(&self, ctx: &mut $crate::gpu::ops::LowerCtx) -> $crate::error::Result<()> {
                let lower: fn(&mut $crate::gpu::ops::LowerCtx) -> $crate::error::Result<()> =
                    $lower;
                lower(ctx)
            }

            fn shaders(&self) -> &'static [&'static $crate::gpu::shader::Shader] {
                static LIST: &[&$crate::gpu::shader::Shader] = &[$($shader),*];
                LIST
            }
        }
    };
}

pub(crate) mod conv;
pub(crate) mod convert;
pub(crate) mod copy_spec;
pub(crate) mod detection;
pub(crate) mod elementwise;
pub(crate) mod epilogue;
pub(crate) mod gather;
pub(crate) mod layout;
pub(crate) mod logic;
pub(crate) mod matmul;
pub(crate) mod mediapipe;
pub(crate) mod normalize;
pub(crate) mod pool;
pub(crate) mod qelementwise;
pub(crate) mod qmatmul;
pub(crate) mod qpool;
pub(crate) mod qresize;
pub(crate) mod qsoftmax;
pub(crate) mod quant;
pub(crate) mod qunary;
pub(crate) mod reduce;
pub(crate) mod resize;
pub(crate) mod tiling;

/// Every GPU op family, by module name. Claims are disjoint, so the order
/// never decides where a node goes.
pub(crate) static FAMILIES: &[&dyn GpuOp] = &[
    &conv::float::OP,
    &convert::OP,
    &detection::OP,
    &elementwise::OP,
    &gather::OP,
    &layout::OP,
    &logic::OP,
    &matmul::OP,
    &mediapipe::OP,
    &normalize::OP,
    &pool::OP,
    &conv::int8::OP,
    &qelementwise::OP,
    &qmatmul::OP,
    &qpool::OP,
    &qresize::OP,
    &qsoftmax::OP,
    &qunary::OP,
    &reduce::OP,
    &resize::OP,
];

/// Largest tensor rank the kernels index.
pub const MAX_RANK: usize = 6;

/// shaders/qmath.wgsl: LiteRT's fixed-point arithmetic in 32-bit pieces, put in
/// front of the integer kernels.
pub const QMATH_WGSL: &str = include_str!("../../../shaders/qmath.wgsl");

/// shaders/broadcast.wgsl: the operand offsets of numpy broadcasting, put in
/// front of the element-wise kernels.
pub const BROADCAST_WGSL: &str = include_str!("../../../shaders/broadcast.wgsl");

/// A family of GPU ops: the nodes it claims, why it refuses one, how it lowers
/// one into dispatches, and the shaders it owns.
///
/// Each family lives in one file under `src/gpu/ops/` and is declared with
/// [`gpu_op!`], which makes its `static OP` for [`FAMILIES`]. Claims are
/// disjoint: a node is claimed by at most one family.
pub trait GpuOp: Sync {
    /// Short name of the family.
    fn name(&self) -> &'static str;
    /// The Rust module that declares it (the registry's tests).
    #[cfg(test)]
    fn module(&self) -> &'static str;
    /// Whether this family is the one that runs `node` (on the GPU or, refused,
    /// nowhere on the GPU).
    fn claims(&self, node: &Node, sg: &Subgraph) -> bool;
    /// Why a claimed node stays on the CPU (Ok: the GPU takes it).
    fn support(&self, node: &Node, sg: &Subgraph, caps: &Caps) -> Support;
    /// Record the dispatches of a claimed, supported node.
    fn lower(&self, ctx: &mut LowerCtx) -> Result<()>;
    /// The shaders its lowerings dispatch (the naga validation of every
    /// variant walks them; dispatches carry their shader themselves).
    #[cfg_attr(not(test), allow(dead_code))]
    fn shaders(&self) -> &'static [&'static Shader];
}

/// The family that claims `node`, if any.
pub fn family(node: &Node, sg: &Subgraph) -> Option<&'static dyn GpuOp> {
    FAMILIES.iter().copied().find(|f| f.claims(node, sg))
}

/// Every shader of every family (what the naga validation of every variant
/// walks).
#[cfg(test)]
pub fn all_shaders() -> impl Iterator<Item = &'static Shader> {
    FAMILIES.iter().flat_map(|f| f.shaders().iter().copied())
}

/// Why no family takes a node.
fn unclaimed(node: &Node, sg: &Subgraph) -> String {
    if quant::is_quantized(node, sg) {
        format!("quantized {} has no GPU kernel", node.op.name())
    } else {
        format!("{} has no GPU kernel", node.op.name())
    }
}

/// What a support check may look at besides the node.
pub struct Caps {
    /// Largest storage buffer binding in bytes.
    pub max_binding_bytes: u64,
    /// Evaluates single nodes at prepare (integer lookup tables).
    pub eval: &'static dyn NodeEval,
}

/// Why a node stays on the CPU (Ok: the GPU takes it).
///
/// Programs are planned for the tensors' static shapes; dimensions the shape
/// signature marks dynamic are planned at their stored size, and an invoke whose
/// inputs have other shapes runs that partition on the CPU instead.
pub fn support(node: &Node, sg: &Subgraph, caps: &Caps) -> Support {
    for t in node.inputs.iter().flatten().chain(&node.outputs) {
        let info = &sg.tensors[*t];
        if info.shape.len() > MAX_RANK {
            return Err(format!(
                "tensor {} has rank {} > {MAX_RANK}",
                info.name,
                info.shape.len()
            )
            .into());
        }
        let bytes = (info.num_elements() * 4) as u64;
        if bytes > caps.max_binding_bytes {
            return Err(format!(
                "tensor {} ({bytes} bytes) exceeds the storage binding limit",
                info.name
            )
            .into());
        }
    }
    match family(node, sg) {
        Some(f) => f.support(node, sg, caps),
        None => Err(unclaimed(node, sg).into()),
    }
}

/// Record the dispatches of one node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    match family(ctx.node, ctx.sg) {
        Some(f) => {
            tracing::trace!(node = ctx.index, family = f.name(), "lowering");
            f.lower(ctx)
        }
        None => Err(ctx.err(unclaimed(ctx.node, ctx.sg))),
    }
}

/// Ok when every non-constant input and every output is float32 (constants of any
/// type are parameters the lowering reads, such as axes and shapes).
pub fn float_io(node: &Node, sg: &Subgraph) -> Support {
    for t in node.inputs.iter().flatten().chain(&node.outputs) {
        let info = &sg.tensors[*t];
        if info.dtype != DType::F32 && !info.is_constant() {
            return Err(format!(
                "tensor {} is {}, the GPU path runs float32 tensors",
                info.name, info.dtype
            )
            .into());
        }
    }
    Ok(())
}

/// Ok when input 0 and every output are float32 (other inputs are constant
/// parameters such as axes or sizes, read on the host).
pub fn data_is_f32(node: &Node, sg: &Subgraph) -> Support {
    let x = node.input(0).ok_or(Unsupported::from("missing input 0"))?;
    for &t in std::iter::once(&x).chain(&node.outputs) {
        let info = &sg.tensors[t];
        if info.dtype != DType::F32 {
            return Err(format!(
                "tensor {} is {}, the GPU path runs float32 tensors",
                info.name, info.dtype
            )
            .into());
        }
    }
    Ok(())
}

/// Ok when tensor `t` has a GPU storage (float32, int32, int64 that fits int32
/// when constant, bool) and is not quantized.
pub fn gpu_typed(sg: &Subgraph, t: usize) -> Support {
    let info = &sg.tensors[t];
    if Elem::of(info.dtype).is_none() || quant::is_quant_dtype(info.dtype) {
        return Err(format!(
            "tensor {} is {}, the GPU path holds float32, int32, int64 and bool",
            info.name, info.dtype
        )
        .into());
    }
    if info.quantization.is_some() && info.dtype != DType::F32 {
        return Err(format!("tensor {} is quantized", info.name).into());
    }
    if info.dtype == DType::I64 && info.is_constant() {
        if let Some(v) = const_ints(info)?
            .into_iter()
            .find(|v| i32::try_from(*v).is_err())
        {
            return Err(format!(
                "int64 constant {} holds {v}, outside the int32 range the GPU stores",
                info.name
            )
            .into());
        }
    }
    Ok(())
}

/// Integer values of a constant int32/int64 tensor (shapes, axes, indices).
pub fn const_ints(info: &TensorInfo) -> Support<Vec<i64>> {
    let d = info.data.as_ref().ok_or_else(|| {
        format!(
            "tensor {} is computed at runtime, the GPU path needs a constant",
            info.name
        )
    })?;
    Ok(match info.dtype {
        DType::I32 => d
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
            .collect(),
        DType::I64 => d
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                i64::from_le_bytes(a)
            })
            .collect(),
        other => {
            return Err(format!("tensor {} is {other}, expected int32/int64", info.name).into())
        }
    })
}

/// The lowering context of one node.
pub struct LowerCtx<'a> {
    /// The program being built.
    pub b: &'a mut ProgramBuilder,
    /// The subgraph.
    pub sg: &'a Subgraph,
    /// Index of the node.
    pub index: usize,
    /// The node.
    pub node: &'a Node,
    /// Buffers of tensors already on the GPU.
    pub bufs: &'a mut HashMap<usize, BufId>,
    /// What this node absorbs from the nodes fused into it (a zero PAD in front,
    /// element-wise steps after it); only families that apply fusions get one.
    pub fused: Option<epilogue::Fused>,
    /// The nodes fused into this one (its group's other members), for profiles.
    pub absorbed: Vec<usize>,
    /// Evaluates single nodes at prepare (integer lookup tables).
    pub eval: &'a dyn NodeEval,
}

impl LowerCtx<'_> {
    /// An error naming this node.
    pub fn err(&self, what: impl Into<String>) -> Error {
        Error::node(self.index, self.node.op.name(), what)
    }

    /// Metadata of input `i`.
    pub fn in_info(&self, i: usize) -> Result<&TensorInfo> {
        self.node
            .input(i)
            .map(|t| &self.sg.tensors[t])
            .ok_or_else(|| self.err(format!("missing input {i}")))
    }

    /// Metadata of output `i`.
    pub fn out_info(&self, i: usize) -> Result<&TensorInfo> {
        self.node
            .outputs
            .get(i)
            .map(|&t| &self.sg.tensors[t])
            .ok_or_else(|| self.err(format!("missing output {i}")))
    }

    /// Whether optional input `i` is present.
    pub fn has_input(&self, i: usize) -> bool {
        self.node.input(i).is_some()
    }

    /// Float values of a constant input.
    pub fn const_f32(&self, i: usize) -> Result<Vec<f32>> {
        let info = self.in_info(i)?;
        match (&info.data, info.dtype) {
            (Some(d), DType::F32) => Ok(d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()),
            _ => Err(self.err(format!("input {i} is not a float32 constant"))),
        }
    }

    /// Integer values of a constant input (shapes, axes, permutations).
    pub fn const_ints(&self, i: usize) -> Result<Vec<i64>> {
        const_ints(self.in_info(i)?).map_err(|e| self.err(format!("input {i}: {e}")))
    }

    /// The buffer of input `i`: its producer's, or a constant uploaded once.
    pub fn input(&mut self, i: usize) -> Result<BufId> {
        let t = self
            .node
            .input(i)
            .ok_or_else(|| self.err(format!("missing input {i}")))?;
        if let Some(&b) = self.bufs.get(&t) {
            return Ok(b);
        }
        let info = &self.sg.tensors[t];
        let b = match info.dtype {
            DType::F32 => {
                let values = self.const_f32(i)?;
                self.b.constant(&values)
            }
            DType::I32 | DType::I64 => {
                let words = self
                    .const_ints(i)?
                    .into_iter()
                    .map(|v| {
                        i32::try_from(v)
                            .map(|w| w as u32)
                            .map_err(|_| self.err(format!("constant {v} does not fit int32")))
                    })
                    .collect::<Result<Vec<u32>>>()?;
                self.b.constant_words(&words, Elem::I32)
            }
            DType::I8 | DType::U8 | DType::I16 => {
                let d = info
                    .data
                    .as_ref()
                    .ok_or_else(|| self.err(format!("input {i} is not constant")))?;
                let words: Vec<u32> = match info.dtype {
                    DType::I8 => d.iter().map(|&v| v as i8 as i32 as u32).collect(),
                    DType::U8 => d.iter().map(|&v| u32::from(v)).collect(),
                    _ => d
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i32 as u32)
                        .collect(),
                };
                self.b.constant_words(&words, Elem::I32)
            }
            DType::Bool => {
                let words: Vec<u32> = info
                    .data
                    .as_ref()
                    .ok_or_else(|| self.err(format!("input {i} is not constant")))?
                    .iter()
                    .map(|&v| u32::from(v != 0))
                    .collect();
                self.b.constant_words(&words, Elem::U32)
            }
            other => return Err(self.err(format!("input {i} is {other}, not a GPU type"))),
        };
        self.bufs.insert(t, b);
        Ok(b)
    }

    /// A fresh buffer for output `i`.
    pub fn output(&mut self, i: usize) -> Result<BufId> {
        let t = *self
            .node
            .outputs
            .get(i)
            .ok_or_else(|| self.err(format!("missing output {i}")))?;
        let info = &self.sg.tensors[t];
        let elem = Elem::of(info.dtype)
            .ok_or_else(|| self.err(format!("output {i} is {}, not a GPU type", info.dtype)))?;
        let b = self.b.intermediate_of(info.num_elements(), elem);
        self.bufs.insert(t, b);
        Ok(b)
    }

    /// Make output `i` share input `j`'s storage (free reshape).
    pub fn alias_output(&mut self, i: usize, j: usize) -> Result<()> {
        let src = self.input(j)?;
        let t = *self
            .node
            .outputs
            .get(i)
            .ok_or_else(|| self.err(format!("missing output {i}")))?;
        let b = self.b.alias(src);
        self.bufs.insert(t, b);
        Ok(())
    }

    /// Record a dispatch of `shader` as `groups` whole workgroups (kernels that
    /// give each workgroup one output row or element).
    pub fn dispatch_groups<P: Uniform>(
        &mut self,
        shader: &'static Shader,
        constants: Vec<(&'static str, f64)>,
        params: P,
        buffers: Vec<BufId>,
        groups: u64,
    ) -> Result<()> {
        self.dispatch_groups_trusted(shader, constants, params, buffers, groups, false)
    }

    /// Like [`LowerCtx::dispatch_groups`] for a kernel whose indices the lowering
    /// proved in bounds (`trusted`: buffer sizes checked against the geometry):
    /// its module is built without runtime checks unless they are forced on.
    pub fn dispatch_groups_trusted<P: Uniform>(
        &mut self,
        shader: &'static Shader,
        constants: Vec<(&'static str, f64)>,
        params: P,
        buffers: Vec<BufId>,
        groups: u64,
        trusted: bool,
    ) -> Result<()> {
        self.dispatch_sized(
            shader,
            constants,
            params,
            buffers,
            (groups, WORKGROUP_SIZE),
            trusted,
        )
    }

    /// Like [`LowerCtx::dispatch_groups_trusted`] for a kernel whose workgroups
    /// have a size of their own: `launch` is (workgroups, invocations per
    /// workgroup), the size the override constants give the kernel's
    /// `@workgroup_size`.
    pub fn dispatch_sized<P: Uniform>(
        &mut self,
        shader: &'static Shader,
        constants: Vec<(&'static str, f64)>,
        params: P,
        buffers: Vec<BufId>,
        launch: (u64, u32),
        trusted: bool,
    ) -> Result<()> {
        let (groups, size) = launch;
        let invocations = groups * u64::from(size);
        self.record(
            shader,
            constants,
            params,
            buffers,
            (invocations, size),
            trusted,
        )
    }

    /// Record a dispatch of `shader` over `invocations` threads (workgroups of
    /// [`WORKGROUP_SIZE`]) with uniforms `params`, which must be the shader's
    /// [`Uniform`] struct.
    pub fn dispatch<P: Uniform>(
        &mut self,
        shader: &'static Shader,
        constants: Vec<(&'static str, f64)>,
        params: P,
        buffers: Vec<BufId>,
        invocations: u64,
    ) -> Result<()> {
        self.record(
            shader,
            constants,
            params,
            buffers,
            (invocations, WORKGROUP_SIZE),
            false,
        )
    }

    /// Record a dispatch of `launch` = (invocations, invocations per workgroup).
    fn record<P: Uniform>(
        &mut self,
        shader: &'static Shader,
        constants: Vec<(&'static str, f64)>,
        params: P,
        buffers: Vec<BufId>,
        launch: (u64, u32),
        trusted: bool,
    ) -> Result<()> {
        let (invocations, workgroup_size) = launch;
        if P::LAYOUT != shader.params {
            return Err(self.err(format!(
                "the uniforms given to {} do not have its Params layout",
                shader.name
            )));
        }
        let params = bytemuck::bytes_of(&params)
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        self.b.dispatch(DispatchSpec {
            shader,
            constants,
            params,
            buffers,
            invocations,
            workgroup_size,
            node: self.index,
            fused: self.absorbed.clone(),
            trusted,
            members: epilogue::guard_members(self.index, self.fused.as_ref()),
        })
    }
}

/// Pad a shape to rank 6 (leading ones) as u32 words.
pub fn dims6(shape: &[usize]) -> [u32; MAX_RANK] {
    let mut d = [1u32; MAX_RANK];
    for (k, &s) in shape.iter().rev().take(MAX_RANK).enumerate() {
        d[MAX_RANK - 1 - k] = s as u32;
    }
    d
}

/// Row-major strides of `shape` padded to rank 6, with 0 along axes where `shape`
/// is 1 but `out` is not (broadcasting).
pub fn broadcast_strides6(shape: &[usize], out: &[usize]) -> [u32; MAX_RANK] {
    let s = crate::graph::broadcast::broadcast_strides(shape, out);
    let mut d = [0u32; MAX_RANK];
    for (k, &v) in s.iter().rev().take(MAX_RANK).enumerate() {
        d[MAX_RANK - 1 - k] = v as u32;
    }
    d
}

/// Words of a `[vec4<u32>; 2]` uniform array holding 6 dims.
pub fn vec8(d: [u32; MAX_RANK]) -> [u32; 8] {
    [d[0], d[1], d[2], d[3], d[4], d[5], 0, 0]
}

#[cfg(test)]
mod registry_tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn models(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                models(&path, out);
            } else if path.extension().is_some_and(|x| x == "tflite") {
                out.push(path);
            }
        }
    }

    #[test]
    fn families_have_distinct_names() {
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "{names:?}");
    }

    /// Every file under this directory that declares a family with `gpu_op!`
    /// has its family in `FAMILIES`, once: a family cannot drop out of the
    /// registry unnoticed (its `mod` line gone with it: its file is still here).
    #[test]
    fn every_family_is_listed() {
        fn declared(dir: &Path, module: &str, out: &mut Vec<String>) {
            for path in std::fs::read_dir(dir).expect("src/gpu/ops").flatten() {
                let path = path.path();
                let stem = path.file_stem().and_then(|s| s.to_str()).expect("UTF-8");
                if path.is_dir() {
                    declared(&path, &format!("{module}::{stem}"), out);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if path.extension().is_some_and(|x| x == "rs")
                    && text.lines().any(|l| l.starts_with("gpu_op! {"))
                {
                    out.push(if stem == "mod" {
                        module.to_string()
                    } else {
                        format!("{module}::{stem}")
                    });
                }
            }
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gpu/ops");
        let mut found = Vec::new();
        declared(&dir, "tflite_wgpu::gpu::ops", &mut found);
        found.sort();
        let mut listed: Vec<String> = FAMILIES.iter().map(|f| f.module().to_string()).collect();
        listed.sort();
        assert_eq!(listed, found);
        assert!(found.iter().any(|m| m.ends_with("::conv::int8")));
    }

    /// Every node of every shared model is claimed by at most one family, so the
    /// order of `FAMILIES` never decides where a node goes.
    #[test]
    fn no_node_is_claimed_by_two_families() {
        let shared = std::env::var_os("TFLITE_WGPU_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
        let mut files = Vec::new();
        models(&shared.join("models"), &mut files);
        if files.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "no models under {}",
                shared.display()
            );
            return;
        }
        let mut claimed = 0;
        for file in &files {
            let graph = crate::model::read_file(file).expect("shared models load");
            for sg in &graph.subgraphs {
                for (i, node) in sg.nodes.iter().enumerate() {
                    let owners: Vec<_> = FAMILIES
                        .iter()
                        .filter(|f| f.claims(node, sg))
                        .map(|f| f.name())
                        .collect();
                    assert!(
                        owners.len() <= 1,
                        "{}: node {i} ({}) is claimed by {owners:?}",
                        file.display(),
                        node.op.name()
                    );
                    claimed += owners.len();
                }
            }
        }
        assert!(claimed > 0);
    }
}
