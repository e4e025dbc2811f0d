//! Post-training quantization of a float `.tflite` model, without TensorFlow.
//!
//! Five modes reproduce the forms the TensorFlow Lite converter writes:
//! - [`Mode::Fp16`]: every float32 constant becomes a float16 buffer behind a
//!   DEQUANTIZE node;
//! - [`Mode::WeightInt8`]: the weights of convolutions, fully-connected and
//!   batch-matmul ops become symmetric int8 (per channel where the op has output
//!   channels) behind DEQUANTIZE, compute stays float (tensors under 1024
//!   elements stay float, as in the dynamic-range form);
//! - [`Mode::DynamicInt8`]: the converter's dynamic-range form, int8 weights read
//!   directly by the hybrid kernels (tensors under 1024 elements stay float);
//! - [`Mode::Int8`]: full integer, with activation ranges calibrated by running the
//!   CPU reference kernels over representative inputs, and the parameters LiteRT's
//!   integer kernels require (one scale and zero point in and out of CONCATENATION,
//!   MAXIMUM/MINIMUM and the data-movement ops, fixed output parameters of
//!   LOGISTIC, TANH and SOFTMAX, int32 biases scaled by input x weight scale);
//! - [`Mode::Int16x8`]: LiteRT's 16x8 scheme, calibrated as int8 is: symmetric
//!   int16 activations with zero point 0, symmetric per-channel int8 weights,
//!   int64 biases for convolutions and FULLY_CONNECTED, and outputs of scale
//!   1/32768 for LOGISTIC, TANH and SOFTMAX. Ops LiteRT has no int16 kernel for
//!   (HARD_SWISH among them) stay float between DEQUANTIZE and QUANTIZE.
//!
//! A [`Recipe`] (the AI Edge Quantizer's format) refines the mode per op type and
//! output name: static, dynamic, weight-only, float16 or float nodes mixed in one
//! model, with int8 or int4 weights per tensor, per channel or in blocks, where
//! LiteRT's kernels run the combination.
//!
//! Every subgraph is quantized: the weights of loop bodies and branches too. In
//! int8 the tensors inside a WHILE body or IF branch are calibrated at every
//! iteration the reference kernels run; a nested subgraph keeps its float
//! interface (the values a loop carries stay float, quantized inside the body),
//! and the control-flow node is listed among the nodes left float.
//!
//! [`quantize_file`] is the whole tool: it reads, quantizes, measures the result
//! against the float model and writes the output atomically.

mod calibrate;
mod int8;
mod mixed;
mod recipe;
mod report;
mod scheme;
mod select;
mod trace;
mod weights;

pub use calibrate::{load_calibration, random_calibration, Ranges};
pub use recipe::Recipe;
pub use report::{kl_divergence, LayerError, OutputError, Report, KL_BINS, PER_LAYER_COLUMNS};
pub use select::KeepFloat;

use crate::error::{Error, Result};
use crate::graph::{DType, Graph, Op, Tensor};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The quantization to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// float16 constants behind DEQUANTIZE.
    Fp16,
    /// int8 weights behind DEQUANTIZE; float compute.
    WeightInt8,
    /// int8 weights consumed by the hybrid (dynamic-range) kernels.
    DynamicInt8,
    /// Full integer int8 with calibrated activations.
    Int8,
    /// No default: only what the recipe's entries select is quantized (the
    /// AI Edge Quantizer's reading of a recipe). Needs a recipe.
    Recipe,
    /// Full integer with calibrated int16 activations and int8 weights (16x8).
    Int16x8,
}

impl Mode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fp16 => "fp16",
            Mode::WeightInt8 => "weight-int8",
            Mode::DynamicInt8 => "dynamic-int8",
            Mode::Int8 => "int8",
            Mode::Recipe => "recipe",
            Mode::Int16x8 => "int16x8",
        }
    }

    /// Whether the mode calibrates activations (full integer).
    pub fn calibrated(self) -> bool {
        matches!(self, Mode::Int8 | Mode::Int16x8)
    }
}

/// The element type of the model's inputs and outputs in the full-integer modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoType {
    /// float32 interface: QUANTIZE after each input, DEQUANTIZE before each output.
    #[default]
    Float,
    /// int8 inputs and outputs.
    Int8,
    /// uint8 inputs and outputs (zero point shifted by 128), converted with QUANTIZE.
    Uint8,
    /// int16 inputs and outputs ([`Mode::Int16x8`]).
    Int16,
}

impl IoType {
    /// The option's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            IoType::Float => "float",
            IoType::Int8 => "int8",
            IoType::Uint8 => "uint8",
            IoType::Int16 => "int16",
        }
    }
}

/// Where calibration inputs come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Calibration {
    /// None given (an error for the full-integer modes; the report then uses one
    /// seeded random sample).
    #[default]
    None,
    /// A directory of `.npy` samples (see [`load_calibration`]).
    Dir(PathBuf),
    /// This many seeded random samples in each input's natural range.
    Random(usize),
}

/// Everything that controls one quantization.
#[derive(Debug, Clone)]
pub struct QuantizeOptions {
    /// The mode (with a recipe, that of the nodes no recipe entry matches).
    pub mode: Mode,
    /// Calibration inputs (also the inputs the report measures on).
    pub calibration: Calibration,
    /// The interface type for the full-integer modes.
    pub io: IoType,
    /// Nodes that stay float.
    pub keep_float: KeepFloat,
    /// Percentile of |activation| kept by the calibrated ranges (100: min/max).
    pub percentile: f64,
    /// Compute the per-layer error table.
    pub per_layer: bool,
    /// An AI Edge Quantizer recipe: per op type and output name, what is
    /// quantized and how, over the mode's default.
    pub recipe: Option<Recipe>,
}

impl QuantizeOptions {
    /// Options for `mode` with min/max calibration and a float interface.
    pub fn new(mode: Mode) -> Self {
        QuantizeOptions {
            mode,
            calibration: Calibration::None,
            io: IoType::Float,
            keep_float: KeepFloat::default(),
            percentile: 100.0,
            per_layer: false,
            recipe: None,
        }
    }

    /// Whether the quantization calibrates activations (int8, or a recipe with
    /// static entries), so that calibration inputs are required.
    pub fn calibrates(&self) -> bool {
        self.mode.calibrated() || self.recipe.as_ref().is_some_and(Recipe::needs_calibration)
    }

    /// The name the report gives the quantization: the mode's, with `+recipe`
    /// when a recipe refines it.
    pub fn name(&self) -> String {
        match (&self.recipe, self.mode) {
            (Some(_), Mode::Recipe) | (None, _) => self.mode.name().to_string(),
            (Some(_), m) => format!("{}+recipe", m.name()),
        }
    }
}

/// The error type for a problem with the quantization request or its inputs.
pub(crate) fn invalid(what: impl Into<String>) -> Error {
    Error::Input {
        index: 0,
        what: what.into(),
    }
}

/// Refuse a model that is already quantized: quantized tensors, float16 or int8
/// constants, or QUANTIZE/DEQUANTIZE nodes.
pub fn check_float_model(graph: &Graph) -> Result<()> {
    for sg in &graph.subgraphs {
        for (t, info) in sg.tensors.iter().enumerate() {
            let quantized_const = info.data.is_some()
                && matches!(info.dtype, DType::F16 | DType::I8 | DType::U8 | DType::Int4);
            if info.quantization.is_some() || quantized_const {
                return Err(Error::Tensor {
                    index: t,
                    name: info.name.clone(),
                    what:
                        "the model is already quantized (this tensor is); quantize the float model"
                            .into(),
                });
            }
        }
        for (n, node) in sg.nodes.iter().enumerate() {
            if matches!(node.op, Op::Quantize | Op::Dequantize) {
                return Err(Error::node(
                    n,
                    node.op.name(),
                    "the model is already quantized; quantize the float model",
                ));
            }
        }
    }
    if graph.subgraphs.is_empty() {
        return Err(Error::malformed("the model has no subgraph"));
    }
    Ok(())
}

/// The result of [`quantize`]: the new graph and what the int8 pass left float.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// The quantized model.
    pub graph: Graph,
    /// Nodes (index in the input model, op name, reason) that stayed float.
    pub float_nodes: Vec<(usize, String, String)>,
}

/// Quantize `graph` in memory. `samples` are the calibration inputs (required for
/// the full-integer modes, unused otherwise).
pub fn quantize(
    graph: &Graph,
    options: &QuantizeOptions,
    samples: &[Vec<Tensor>],
) -> Result<Quantized> {
    check_float_model(graph)?;
    if let Some(recipe) = &options.recipe {
        if options.mode == Mode::Int16x8 {
            // A recipe's entries mix int8 schemes (static, dynamic, weight-only); a
            // 16x8 activation scheme among them is not one of its fields here.
            return Err(invalid(
                "a recipe refines the int8 modes only: --mode int16x8 takes no --recipe",
            ));
        }
        return mixed::quantize(graph, options, recipe, samples);
    }
    let keep = options.keep_float.resolve(graph.main())?;
    let left_float = float_subgraphs(graph, &keep);
    let no_keep = HashSet::new();
    let mut out = graph.clone();
    let mut float_nodes = Vec::new();
    // Every subgraph is quantized (loop bodies and branches included) but those only
    // nodes kept float call; the node selection applies to the main subgraph.
    let subgraphs = (0..graph.subgraphs.len()).filter(|s| !left_float.contains(s));
    match options.mode {
        Mode::Fp16 => subgraphs.for_each(|s| {
            let keep = if s == 0 { &keep } else { &no_keep };
            weights::fp16(&mut out.subgraphs[s], keep)
        }),
        Mode::WeightInt8 => subgraphs.for_each(|s| {
            let keep = if s == 0 { &keep } else { &no_keep };
            weights::weight_int8(&mut out.subgraphs[s], keep)
        }),
        Mode::DynamicInt8 => subgraphs.for_each(|s| {
            let keep = if s == 0 { &keep } else { &no_keep };
            weights::dynamic_int8(&mut out.subgraphs[s], keep)
        }),
        Mode::Int8 | Mode::Int16x8 => {
            let scheme = match options.mode {
                Mode::Int16x8 => scheme::Scheme::Int16x8,
                _ => scheme::Scheme::Int8,
            };
            check_io(options.mode, options.io)?;
            if samples.is_empty() {
                return Err(no_calibration(options));
            }
            let ranges = calibrate::ranges(graph, samples, options.percentile)?;
            for s in subgraphs {
                // Nested subgraphs keep their float interface: the values a loop
                // carries and a branch returns stay float, quantized inside.
                let (keep, io) = if s == 0 {
                    (&keep, options.io)
                } else {
                    (&no_keep, IoType::Float)
                };
                let range = ranges.subgraphs.get(s).map_or(&[][..], Vec::as_slice);
                let (sg, left) = int8::full_integer(&graph.subgraphs[s], range, keep, io, scheme)?;
                out.subgraphs[s] = sg;
                float_nodes.extend(left.into_iter().map(|(n, op, why)| {
                    let why = match s {
                        0 => why,
                        _ => format!("in subgraph {s} ({}): {why}", graph.subgraphs[s].name),
                    };
                    (n, op, why)
                }));
            }
            remap_signatures(&mut out, graph);
        }
        Mode::Recipe => return Err(invalid("mode recipe needs a recipe (--recipe FILE.json)")),
    }
    Ok(Quantized {
        graph: out,
        float_nodes,
    })
}

/// The error for a full-integer mode without calibration inputs.
fn no_calibration(options: &QuantizeOptions) -> Error {
    invalid(format!(
        "{} needs calibration inputs (--calibration DIR or --calibration-random N)",
        options.name()
    ))
}

/// Refuse an interface type the mode has no integer form for: int8 and uint8
/// belong to int8, int16 to int16x8 (float fits both).
fn check_io(mode: Mode, io: IoType) -> Result<()> {
    let fits = match io {
        IoType::Float => true,
        IoType::Int8 | IoType::Uint8 => mode == Mode::Int8,
        IoType::Int16 => mode == Mode::Int16x8,
    };
    if fits {
        Ok(())
    } else {
        Err(invalid(format!(
            "--io {} does not apply to --mode {} (int8 and uint8 go with int8, int16 with int16x8)",
            io.name(),
            mode.name()
        )))
    }
}

/// The subgraphs only control-flow nodes kept float reach (through any nesting):
/// they stay float entirely.
fn float_subgraphs(graph: &Graph, keep: &HashSet<usize>) -> HashSet<usize> {
    let calls = |s: usize, n: usize| match graph.subgraphs[s].nodes[n].op {
        Op::While { cond, body } => vec![cond, body],
        Op::If {
            then_branch,
            else_branch,
        } => vec![then_branch, else_branch],
        _ => Vec::new(),
    };
    let reach = |roots: Vec<usize>| {
        let mut seen = HashSet::new();
        let mut todo = roots;
        while let Some(s) = todo.pop() {
            if s == 0 || s >= graph.subgraphs.len() || !seen.insert(s) {
                continue;
            }
            todo.extend((0..graph.subgraphs[s].nodes.len()).flat_map(|n| calls(s, n)));
        }
        seen
    };
    let main = graph.main();
    let kept = reach(keep.iter().flat_map(|&n| calls(0, n)).collect());
    let quantized = reach(
        (0..main.nodes.len())
            .filter(|n| !keep.contains(n))
            .flat_map(|n| calls(0, n))
            .collect(),
    );
    kept.difference(&quantized).copied().collect()
}

/// Point the main subgraph's signatures at the tensors that took the place of
/// its inputs and outputs.
fn remap_signatures(out: &mut Graph, graph: &Graph) {
    let main = &out.subgraphs[0];
    let (inputs, outputs) = (main.inputs.clone(), main.outputs.clone());
    for sig in out.signatures.iter_mut().filter(|s| s.subgraph == 0) {
        remap(&mut sig.inputs, &graph.main().inputs, &inputs);
        remap(&mut sig.outputs, &graph.main().outputs, &outputs);
    }
}

/// Point signature entries at the tensor that took the place of each old one.
fn remap(entries: &mut [(String, usize)], old: &[usize], new: &[usize]) {
    for (_, t) in entries.iter_mut() {
        if let Some(k) = old.iter().position(|o| o == t) {
            if let Some(&n) = new.get(k) {
                *t = n;
            }
        }
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory, renamed
/// into place, so a failure never leaves a partial file at `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.tflite".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Read `input`, quantize it, measure it against the float model on the
/// calibration inputs and write it to `output` (never over `input`). Nothing is
/// written when any step fails.
pub fn quantize_file(input: &Path, output: &Path, options: &QuantizeOptions) -> Result<Report> {
    if input
        .canonicalize()
        .ok()
        .is_some_and(|a| output.canonicalize().ok() == Some(a))
    {
        return Err(invalid("the output would overwrite the input model"));
    }
    let bytes = std::fs::read(input).map_err(|source| Error::Io {
        path: input.display().to_string(),
        source,
    })?;
    let graph = crate::model::read(&bytes, &crate::model::LoadOptions::default())?;
    check_float_model(&graph)?;
    let samples = match &options.calibration {
        Calibration::Dir(dir) => load_calibration(graph.main(), dir)?,
        Calibration::Random(n) => random_calibration(graph.main(), *n)?,
        Calibration::None if options.calibrates() => return Err(no_calibration(options)),
        Calibration::None => random_calibration(graph.main(), 1)?,
    };
    let q = quantize(&graph, options, &samples)?;
    let out_bytes = crate::model::write_from(&q.graph, &bytes)?;
    // Score the file as written, read back, not the graph it was written from.
    let written = Quantized {
        graph: crate::model::read(&out_bytes, &crate::model::LoadOptions::default())?,
        float_nodes: q.float_nodes,
    };
    let report = report::measure(
        &graph,
        &written,
        &samples,
        options,
        bytes.len(),
        out_bytes.len(),
    )?;
    write_atomic(output, &out_bytes)?;
    Ok(report)
}
