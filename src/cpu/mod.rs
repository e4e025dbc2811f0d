//! The CPU reference interpreter: runs any subgraph of a [`Graph`] with TFLite
//! semantics. One file per op family under `ops/`.

pub mod ops;
mod runner;

pub use runner::{Reference, RunLimits, SubgraphRunner};
