//! The CPU reference interpreter: runs any subgraph of a [`Graph`] with TFLite
//! semantics. One file per op family under `ops/`.

pub mod ops;
mod run;
mod runner;

pub use run::{RunLimits, SubgraphRunner};
pub use runner::Reference;
