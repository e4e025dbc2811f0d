//! The public entry points: [`Model`] (a loaded, validated graph) and [`Interpreter`].

use crate::cpu::{NodeObserver, Program, RunLimits, Tensor};
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorInfo};
use crate::model::{self, LoadOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A loaded and validated model. Cheap to clone; shareable across threads.
#[derive(Debug, Clone)]
pub struct Model {
    graph: Arc<Graph>,
}

impl Model {
    /// Parse `.tflite` bytes with default limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Self::from_bytes_with(bytes, &LoadOptions::default())
    }

    /// Parse `.tflite` bytes with explicit limits.
    pub fn from_bytes_with(bytes: &[u8], options: &LoadOptions) -> Result<Model> {
        Ok(Model {
            graph: Arc::new(model::read(bytes, options)?),
        })
    }

    /// Read and parse a `.tflite` file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Model> {
        Ok(Model {
            graph: Arc::new(model::read_file(path)?),
        })
    }

    /// Wrap an IR graph built in code.
    pub fn from_graph(graph: Graph) -> Model {
        Model {
            graph: Arc::new(graph),
        }
    }

    /// The IR.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

/// Where an interpreter runs its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU reference interpreter.
    #[default]
    Cpu,
    /// The GPU delegate, falling back to the CPU for unsupported nodes.
    Gpu,
    /// The GPU when an adapter exists, otherwise the CPU.
    Auto,
}

/// Interpreter options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which device runs the model.
    pub device: Device,
    /// Allow fp16 storage and math on the GPU.
    pub precision_loss_allowed: bool,
    /// Run limits (WHILE iterations, tensor size, cancellation).
    pub limits: RunLimits,
}

/// Runs a model: set inputs, invoke, read outputs. `Send`, so it can move to a
/// worker thread.
pub struct Interpreter {
    program: Program,
    inputs: Vec<Option<Tensor>>,
    outputs: Vec<Tensor>,
    state: HashMap<(usize, usize), Tensor>,
    cancel: Arc<AtomicBool>,
}

impl Interpreter {
    /// An interpreter on the CPU with default options.
    pub fn new(model: &Model) -> Result<Interpreter> {
        Self::with_options(model, Options::default())
    }

    /// An interpreter with explicit options.
    pub fn with_options(model: &Model, options: Options) -> Result<Interpreter> {
        if options.device == Device::Gpu {
            return Err(Error::Device(
                "the GPU delegate is not available in this build yet; use --device cpu".into(),
            ));
        }
        let cancel = options.limits.cancel.clone();
        let program = Program::new(model.graph.clone(), options.limits)?;
        let n = program.graph().main().inputs.len();
        Ok(Interpreter {
            program,
            inputs: vec![None; n],
            outputs: Vec::new(),
            state: HashMap::new(),
            cancel,
        })
    }

    fn main(&self) -> &crate::graph::Subgraph {
        self.program.graph().main()
    }

    /// Number of model inputs.
    pub fn num_inputs(&self) -> usize {
        self.main().inputs.len()
    }

    /// Number of model outputs.
    pub fn num_outputs(&self) -> usize {
        self.main().outputs.len()
    }

    /// Metadata of input `i`.
    pub fn input_info(&self, i: usize) -> Result<&TensorInfo> {
        let sg = self.main();
        sg.inputs
            .get(i)
            .map(|&t| &sg.tensors[t])
            .ok_or_else(|| Error::Input {
                index: i,
                what: format!("the model has {} inputs", sg.inputs.len()),
            })
    }

    /// Metadata of output `i`.
    pub fn output_info(&self, i: usize) -> Result<&TensorInfo> {
        let sg = self.main();
        sg.outputs
            .get(i)
            .map(|&t| &sg.tensors[t])
            .ok_or_else(|| Error::Input {
                index: i,
                what: format!("the model has {} outputs", sg.outputs.len()),
            })
    }

    /// Set input `i`. Its dtype must match; its shape must match the model's, except
    /// along dimensions the shape signature marks dynamic (-1).
    pub fn set_input(&mut self, i: usize, value: Tensor) -> Result<()> {
        let info = self.input_info(i)?;
        if value.dtype() != info.dtype {
            return Err(Error::Input {
                index: i,
                what: format!("got {}, the model expects {}", value.dtype(), info.dtype),
            });
        }
        let sig: Vec<i64> = match &info.shape_signature {
            Some(s) => s.iter().map(|&d| d as i64).collect(),
            None => info.shape.iter().map(|&d| d as i64).collect(),
        };
        let fits = value.shape.len() == sig.len()
            && value
                .shape
                .iter()
                .zip(&sig)
                .all(|(&v, &s)| s < 0 || v as i64 == s);
        if !fits || value.len() != value.shape.iter().product::<usize>() {
            return Err(Error::Input {
                index: i,
                what: format!(
                    "shape {:?} does not fit the model's {:?}",
                    value.shape, info.shape
                ),
            });
        }
        self.inputs[i] = Some(value);
        Ok(())
    }

    /// Mutable access to input `i`, created zero-filled at the model's shape.
    pub fn input_mut(&mut self, i: usize) -> Result<&mut Tensor> {
        if self.inputs.get(i).is_none() {
            return Err(Error::Input {
                index: i,
                what: format!("the model has {} inputs", self.inputs.len()),
            });
        }
        if self.inputs[i].is_none() {
            let info = self.input_info(i)?;
            let t = Tensor::zeros(info.dtype, info.shape.clone())?;
            self.inputs[i] = Some(t);
        }
        self.inputs[i].as_mut().ok_or_else(|| Error::Input {
            index: i,
            what: "not set".into(),
        })
    }

    /// Run the model on the inputs set so far.
    pub fn invoke(&mut self) -> Result<()> {
        self.invoke_observed(None)
    }

    /// Run the model, calling `observer` after each node of the main subgraph.
    pub fn invoke_observed(&mut self, observer: Option<&mut NodeObserver<'_>>) -> Result<()> {
        self.cancel.store(false, Ordering::Relaxed);
        let inputs = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.clone().ok_or_else(|| Error::Input {
                    index: i,
                    what: "not set".into(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.outputs = self.program.run(0, inputs, &mut self.state, observer)?;
        Ok(())
    }

    /// Output `i` of the last invoke.
    pub fn output(&self, i: usize) -> Result<&Tensor> {
        self.outputs.get(i).ok_or_else(|| Error::Input {
            index: i,
            what: "no such output (has invoke run?)".into(),
        })
    }

    /// A handle that stops a running invoke from another thread.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Ask a running invoke to stop at the next node.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The underlying graph.
    pub fn graph(&self) -> &Graph {
        self.program.graph()
    }
}
