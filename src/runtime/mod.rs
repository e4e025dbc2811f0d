//! The mixed CPU/GPU scheduler (steps: a CPU node or a compiled GPU partition) and
//! the per-invoke profiles it collects.

mod engine;
pub mod profile;

pub use engine::{no_kernel_reason, GpuPartitions, NodeObserver, Output, Program, VariableState};
