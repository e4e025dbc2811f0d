//! How much accuracy the GPU delegate costs: every output (and, per layer, every
//! intermediate tensor) of a GPU run compared with the CPU reference interpreter on
//! the same inputs, and the search for a few nodes to keep in fp32 so an fp16 run
//! meets its thresholds.
//!
//! Per layer there are two modes. *Propagated*: both paths run end to end and every
//! intermediate tensor is compared, so a layer's error includes what earlier layers
//! passed on. *Local*: each GPU node runs alone on the CPU's inputs, which isolates
//! the error the layer itself adds.

mod candidates;
mod explorer;
mod inputs;
mod layers;
mod metrics;
mod mixed;
mod report;

pub use candidates::UnitKind;
pub use explorer::{
    layer_metrics, node_data, node_data_path, write_node_data, ExplorerMetric, SNR_NO_ERROR_DB,
};
pub use inputs::random_inputs;
pub use layers::{worst_first, LayerRow};
pub use metrics::{real_values, ErrorStats, Metrics, Thresholds};
pub use mixed::{auto_mixed, Candidate, MixedSearch, Promotion, TradeoffPoint, MAX_EVALUATIONS};
pub use report::html_report;

use crate::delegate::{PartitionOptions, Step};
use crate::error::{Error, Result};
use crate::gpu::device::DeviceOptions;
use crate::graph::Tensor;
use crate::interpreter::{Device, Interpreter, Model, Options};
use serde::Serialize;
use std::collections::HashMap;

/// What to compare and how strictly.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Run the GPU in fp16 (precision loss allowed) rather than fp32.
    pub precision_loss_allowed: bool,
    /// Adapter choice.
    pub gpu: DeviceOptions,
    /// Partitioning, including the nodes kept in fp32.
    pub partitions: PartitionOptions,
    /// Compare every intermediate tensor (both modes), not only the outputs.
    pub per_layer: bool,
    /// Pass/fail limits on each output.
    pub thresholds: Thresholds,
    /// Where compiled GPU pipelines persist between processes.
    pub cache_dir: crate::CacheDir,
}

/// One model output's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct OutputCheck {
    /// Output position.
    pub index: usize,
    /// Tensor index in the main subgraph.
    pub tensor: usize,
    /// Tensor name.
    pub name: String,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// The metrics over all inputs.
    pub metrics: Metrics,
    /// The thresholds it fails (empty: it passes).
    pub failures: Vec<String>,
}

/// One step of the execution plan as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanPart {
    /// "gpu" or "cpu".
    pub device: &'static str,
    /// "fp16", "fp32", or "cpu".
    pub precision: &'static str,
    /// Node indices in execution order.
    pub nodes: Vec<usize>,
}

/// The result of comparing a GPU run with the CPU.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// The GPU precision ("fp16" or "fp32").
    pub precision: &'static str,
    /// The adapter.
    pub adapter: String,
    /// Input sets compared.
    pub inputs: usize,
    /// The limits applied.
    pub thresholds: Thresholds,
    /// Nodes kept in fp32.
    pub fp32_nodes: Vec<usize>,
    /// Per output.
    pub outputs: Vec<OutputCheck>,
    /// Per node output tensor, in execution order (empty without `per_layer`).
    pub layers: Vec<LayerRow>,
    /// The execution plan.
    pub plan: Vec<PlanPart>,
    /// Nodes left on the CPU, with the reason.
    pub fallback: Vec<(usize, String)>,
    /// Nodes the fp16 overflow guard moved to fp32 during the runs.
    pub promoted_fp32_nodes: Vec<crate::PromotedNode>,
}

impl Validation {
    /// Whether every output meets the thresholds.
    pub fn pass(&self) -> bool {
        self.outputs.iter().all(|o| o.failures.is_empty())
    }
}

/// The CPU's results on each input set: the outputs and, for per-layer runs, every
/// tensor (model inputs and node outputs) by tensor index.
pub struct Reference {
    outputs: Vec<Vec<Tensor>>,
    tensors: Vec<HashMap<usize, Tensor>>,
}

/// Set `inputs` on `interp` and invoke it, recording every node output when
/// `record` is set.
fn run_recorded(
    interp: &mut Interpreter,
    inputs: &[Tensor],
    record: bool,
) -> Result<(Vec<Tensor>, HashMap<usize, Tensor>)> {
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone())?;
    }
    let mut seen = HashMap::new();
    if record {
        let sg = interp.graph().main();
        for (&t, v) in sg.inputs.iter().zip(inputs) {
            seen.insert(t, v.clone());
        }
        let outs: Vec<Vec<usize>> = sg.nodes.iter().map(|n| n.outputs.clone()).collect();
        let mut observer = |n: usize, values: &[Tensor]| {
            for (&t, v) in outs[n].iter().zip(values) {
                seen.insert(t, v.clone());
            }
        };
        interp.invoke_observed(Some(&mut observer))?;
    } else {
        interp.invoke()?;
    }
    let outputs = (0..interp.num_outputs())
        .map(|i| interp.output(i).cloned())
        .collect::<Result<Vec<_>>>()?;
    Ok((outputs, seen))
}

impl Reference {
    /// Run the CPU interpreter on every input set.
    pub fn compute(model: &Model, inputs: &[Vec<Tensor>], per_layer: bool) -> Result<Reference> {
        let mut cpu = Interpreter::with_options(
            model,
            Options {
                device: Device::Cpu,
                ..Default::default()
            },
        )?;
        let mut reference = Reference {
            outputs: Vec::new(),
            tensors: Vec::new(),
        };
        for set in inputs {
            let (outputs, tensors) = run_recorded(&mut cpu, set, per_layer)?;
            reference.outputs.push(outputs);
            reference.tensors.push(tensors);
        }
        Ok(reference)
    }

    /// Whether every intermediate tensor was recorded.
    pub fn has_layers(&self) -> bool {
        self.tensors.iter().all(|t| !t.is_empty())
    }
}

/// The plan of a GPU interpreter as report rows, and each node's position in
/// execution order.
fn plan_view(interp: &Interpreter) -> (Vec<PlanPart>, Vec<usize>) {
    let n = interp.graph().main().nodes.len();
    let mut depth = vec![usize::MAX; n];
    let mut parts = Vec::new();
    let Some(report) = interp.delegate_report() else {
        return (
            vec![PlanPart {
                device: "cpu",
                precision: "cpu",
                nodes: (0..n).collect(),
            }],
            (0..n).collect(),
        );
    };
    let mut order = Vec::with_capacity(n);
    for step in &report.plan.steps {
        match *step {
            Step::Cpu(k) => {
                order.push(k);
                match parts.last_mut() {
                    Some(PlanPart {
                        device: "cpu",
                        nodes,
                        ..
                    }) => nodes.push(k),
                    _ => parts.push(PlanPart {
                        device: "cpu",
                        precision: "cpu",
                        nodes: vec![k],
                    }),
                }
            }
            Step::Gpu(p) => {
                let part = &report.plan.partitions[p];
                order.extend(&part.nodes);
                let compiled = report.partition_precision.get(p).copied().flatten();
                parts.push(PlanPart {
                    device: if compiled.is_some() { "gpu" } else { "cpu" },
                    precision: match compiled {
                        None => "cpu",
                        Some(crate::gpu::pipeline::Precision::F32) => "fp32",
                        Some(crate::gpu::pipeline::Precision::F16) => "fp16",
                    },
                    nodes: part.nodes.clone(),
                });
            }
        }
    }
    for (i, &k) in order.iter().enumerate() {
        if let Some(d) = depth.get_mut(k) {
            *d = i;
        }
    }
    (parts, depth)
}

/// Compare a GPU run with the CPU `reference` on the same `inputs`.
pub fn evaluate(
    model: &Model,
    inputs: &[Vec<Tensor>],
    reference: &Reference,
    opts: &ValidateOptions,
) -> Result<Validation> {
    let per_layer = opts.per_layer && reference.has_layers();
    let mut gpu = Interpreter::with_options(
        model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: opts.precision_loss_allowed,
            gpu: opts.gpu,
            partitions: opts.partitions.clone(),
            expose_intermediates: per_layer,
            cache_dir: opts.cache_dir.clone(),
            ..Default::default()
        },
    )?;
    let report = gpu
        .delegate_report()
        .cloned()
        .ok_or_else(|| Error::NoAdapter("the GPU interpreter runs without a delegate".into()))?;
    let sg = gpu.graph().main().clone();
    let mut out_stats = vec![ErrorStats::default(); sg.outputs.len()];
    let mut layer_stats = layers::LayerStats::new(&sg, per_layer);
    let mut local = if per_layer {
        Some(layers::LocalPrograms::compile(&sg, &report, opts)?)
    } else {
        None
    };
    for (k, set) in inputs.iter().enumerate() {
        let (outputs, seen) = run_recorded(&mut gpu, set, per_layer)?;
        let expected = reference.outputs.get(k).ok_or_else(|| Error::Input {
            index: k,
            what: "no reference run for this input set".into(),
        })?;
        for (i, ((cpu, gpu), stats)) in expected
            .iter()
            .zip(&outputs)
            .zip(&mut out_stats)
            .enumerate()
        {
            let info = &sg.tensors[sg.outputs[i]];
            if let (Some(r), Some(t)) = (real_values(cpu, info), real_values(gpu, info)) {
                stats.add(&r, &t, &cpu.shape);
            }
        }
        if per_layer {
            layer_stats.add_propagated(&sg, &reference.tensors[k], &seen);
            if let Some(local) = &mut local {
                layer_stats.add_local(&sg, &reference.tensors[k], local)?;
            }
        }
    }
    let outputs = out_stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = sg.outputs[i];
            let metrics = s.finish();
            OutputCheck {
                index: i,
                tensor: t,
                name: sg.tensors[t].name.clone(),
                shape: sg.tensors[t].shape.clone(),
                failures: opts.thresholds.failures(&metrics),
                metrics,
            }
        })
        .collect();
    let (plan, depth) = plan_view(&gpu);
    let promoted_fp32_nodes = gpu
        .delegate_report()
        .map(|r| r.promoted_fp32_nodes.clone())
        .unwrap_or_default();
    let devices: Vec<&'static str> = {
        let mut d = vec!["cpu"; sg.nodes.len()];
        for part in &plan {
            for &n in &part.nodes {
                d[n] = part.device;
            }
        }
        d
    };
    let mut fallback = report.plan.fallback.clone();
    for (p, why) in &report.failed {
        for &k in &report.plan.partitions[*p].nodes {
            fallback.push((k, format!("its partition failed to compile: {why}")));
        }
    }
    Ok(Validation {
        precision: match report.precision {
            crate::gpu::pipeline::Precision::F16 => "fp16",
            crate::gpu::pipeline::Precision::F32 => "fp32",
        },
        adapter: report.adapter.clone(),
        inputs: inputs.len(),
        thresholds: opts.thresholds,
        fp32_nodes: opts.partitions.fp32_nodes.clone(),
        promoted_fp32_nodes,
        outputs,
        layers: if per_layer {
            layer_stats.rows(&sg, &depth, &devices, local.as_ref())
        } else {
            Vec::new()
        },
        plan,
        fallback,
    })
}

/// Validate `model` on `inputs`: the CPU reference, then the GPU comparison.
pub fn validate(
    model: &Model,
    inputs: &[Vec<Tensor>],
    opts: &ValidateOptions,
) -> Result<Validation> {
    let reference = Reference::compute(model, inputs, opts.per_layer)?;
    evaluate(model, inputs, &reference, opts)
}
