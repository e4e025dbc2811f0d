//! A compiled GPU partition: buffers planned by liveness, pipelines and bind groups
//! built once; each invoke writes the inputs, records every dispatch into one
//! command encoder, submits once and reads the outputs back once.
//!
//! [`ProgramBuilder`] records buffers and dispatches, the memory planner
//! (`planner`) assigns them physical storage, and [`GpuProgram`] runs the result.

mod builder;
mod executor;
mod halves;
mod host;
mod planner;

pub use builder::ProgramBuilder;
pub use executor::{GpuProgram, RunTimes};
pub use host::HostInput;

use crate::gpu::shader::Shader;
use crate::graph::DType;

/// A virtual buffer of the program before memory planning.
pub type BufId = usize;

/// What one element of a virtual buffer is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// The float `scalar` of the shader prelude (f32 or f16 by precision).
    Scalar,
    /// A 4-byte signed word (`array<i32>`): int32 and int64 tensors, and the
    /// quantized 8- and 16-bit activations (one raw integer value per word).
    I32,
    /// A 4-byte unsigned word (`array<u32>`): bool tensors as 0/1.
    U32,
}

impl Elem {
    /// How a tensor of `dtype` is stored on the GPU, if it can be.
    pub fn of(dtype: DType) -> Option<Elem> {
        match dtype {
            DType::F32 => Some(Elem::Scalar),
            DType::I32 | DType::I64 | DType::I8 | DType::U8 | DType::I16 => Some(Elem::I32),
            DType::Bool => Some(Elem::U32),
            _ => None,
        }
    }
}

/// One recorded kernel launch.
pub struct DispatchSpec {
    /// The kernel.
    pub shader: &'static Shader,
    /// Override constants selecting the variant.
    pub constants: Vec<(&'static str, f64)>,
    /// Uniform words (u32 / i32 / f32 bit patterns), binding 0.
    pub params: Vec<u32>,
    /// Storage buffers at bindings 1.., the written one last.
    pub buffers: Vec<BufId>,
    /// Total invocations; split into workgroups of `workgroup_size`.
    pub invocations: u64,
    /// Workgroup size the shader declares (x dimension).
    pub workgroup_size: u32,
    /// The model node this dispatch belongs to (for profiling).
    pub node: usize,
    /// Every index the kernel computes is in bounds by construction (its lowering
    /// checked the buffer sizes against the geometry): the module may be built
    /// without runtime checks.
    pub trusted: bool,
    /// Other nodes whose work this dispatch also does (nodes fused into `node`);
    /// empty when it runs `node` alone.
    pub fused: Vec<usize>,
    /// The nodes whose values the kernel's guarded stores store, by member slot
    /// (`to_scalar_of(v, m)` in shaders/prologue_f16.wgsl): `node` itself, the
    /// 1x1 convolution of a fused depthwise + 1x1 pair, and the nodes of the
    /// fused epilogue's two steps. An overflow flags the member's node.
    pub members: [Option<usize>; 4],
}

/// What one dispatch of a built program runs and launches (for profiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchInfo {
    /// The nodes it executes: the node it was lowered from, then any fused into it.
    pub nodes: Vec<usize>,
    /// Workgroups launched along x and y.
    pub groups: (u32, u32),
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// The kernel: shader family and the constants selecting its variant.
    pub kernel: String,
}

impl DispatchInfo {
    /// Workgroups launched in all.
    pub fn workgroups(&self) -> u64 {
        u64::from(self.groups.0) * u64::from(self.groups.1)
    }

    /// Invocations launched in all (workgroups times their size).
    pub fn invocations(&self) -> u64 {
        self.workgroups() * u64::from(self.workgroup_size)
    }
}

/// Largest number of workgroups along one dispatch dimension.
pub const MAX_GROUPS: u64 = 65_535;

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}
