//! tflite-wgpu: run TensorFlow Lite / LiteRT models, with a CPU reference interpreter
//! that matches LiteRT's reference kernels.
//!
//! ```no_run
//! use tflite_wgpu::{Interpreter, Model, Tensor};
//! let model = Model::from_file("model.tflite")?;
//! let mut interp = Interpreter::new(&model)?;
//! let shape = interp.input_info(0)?.shape.clone();
//! let n = shape.iter().product();
//! interp.set_input(0, Tensor::f32(shape, vec![0.5; n]))?;
//! interp.invoke()?;
//! println!("{:?}", interp.output(0)?.shape);
//! # Ok::<(), tflite_wgpu::Error>(())
//! ```
//!
//! The library logs through [`tracing`] and never prints; the command line (the
//! default `cli` feature, [`cli::main`]) installs a subscriber that prints warnings
//! to stderr.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod capi;
#[cfg(feature = "cli")]
pub mod cli;
pub(crate) mod cpu;
pub(crate) mod delegate;
pub mod demo;
mod error;
pub(crate) mod gpu;
pub mod graph;
mod interpreter;
pub mod model;
pub mod npy;
#[cfg(feature = "python")]
mod python;
pub mod quantize;
pub(crate) mod runtime;
pub mod validate;

pub use cpu::RunLimits;
pub use delegate::{
    FaultInjection, Partition, PartitionOptions, Plan, PlanThresholds, PrecisionPlan, Step,
};
pub use error::{Error, Result};
pub use gpu::device::{AdapterInfo, Backend, DeviceOptions};
pub use gpu::pipeline::Precision;
pub use gpu::profile::AdapterProfile;
pub use gpu::tuning::Tuning;
pub use graph::{DType, Graph};
pub use graph::{Data, Tensor};
pub use interpreter::{
    gpu_adapter, is_software_adapter, simulate_device_loss, warn_if_software_adapter, CacheDir,
    CacheStatus, DelegateReport, Device, DeviceChoice, Element, GpuDelegate, InitTimes,
    Interpreter, Model, Options, OverflowGuard, PromotedNode,
};
pub use runtime::no_kernel_reason;
pub use runtime::profile::{
    roofline, summarize, CpuNodeTime, DispatchTime, OpSummary, PartitionTime, PlannedDispatch,
    Profile, Roofline, RooflineRow, TimestampMode,
};
