//! The CPU reference interpreter: runs any subgraph of a [`Graph`] with TFLite
//! semantics. One file per op family under `ops/`.

mod engine;
pub mod ops;
pub mod quant;
mod value;

pub use engine::{GpuPartitions, NodeObserver, Program, RunLimits};
pub use ops::OpCtx;
pub use value::{Data, Tensor};
