//! `validate`: fp16 (or fp32) GPU results against the CPU reference, per output and
//! per layer, with the fp32-node search; text, JSON, CSV and an HTML report.

use super::{load, BackendArg, PrecisionArg};
use crate::cli::outln;
use crate::delegate::{PartitionOptions, PlanThresholds, PrecisionPlan};
use crate::gpu::device::DeviceOptions;
use crate::graph::Tensor;
use crate::validate::{
    self, LayerRow, Metrics, MixedSearch, Thresholds, ValidateOptions, Validation,
};
use crate::{npy, Error, Model, Result};
use std::path::{Path, PathBuf};

/// The `validate` flags.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The .tflite model (the demo model when omitted).
    pub model: Option<PathBuf>,
    /// Input files, one per model input, in model order (instead of random inputs).
    #[arg(long = "input")]
    pub inputs: Vec<PathBuf>,
    /// Number of seeded random input sets.
    #[arg(long, default_value_t = 3)]
    pub random: usize,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// GPU precision to judge.
    #[arg(long, value_enum, default_value = "fp16")]
    pub precision: PrecisionArg,
    /// GPU backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Compare every intermediate tensor, propagated and local.
    #[arg(long)]
    pub per_layer: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML report (implies --per-layer).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the per-layer table as CSV (implies --per-layer).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write per-node error as Model Explorer node data (implies --per-layer):
    /// FILE.json holds max_rel, FILE.cosine.json and FILE.snr_db.json beside it
    /// the others.
    #[arg(long, value_name = "FILE.json")]
    pub model_explorer: Option<PathBuf>,
    /// Largest allowed max error relative to an output's range.
    #[arg(long, default_value_t = 0.02)]
    pub max_rel: f64,
    /// Smallest allowed cosine similarity of an output.
    #[arg(long, default_value_t = 0.999)]
    pub min_cosine: f64,
    /// Nodes (indices as `inspect` prints them) kept in fp32 inside an fp16 run.
    #[arg(long, value_delimiter = ',')]
    pub fp32_nodes: Vec<usize>,
    /// Search for a small set of fp32 nodes that makes every output pass.
    #[arg(long)]
    pub auto_mixed: bool,
    /// Keep compiled GPU pipelines in this directory between runs (default: the
    /// per-user cache directory).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// A precision plan whose nodes stay in fp32 (with any --fp32-nodes).
    #[arg(long, value_name = "PLAN.json")]
    pub precision_plan: Option<PathBuf>,
    /// Write the fp32 node set (searched with --auto-mixed, or given) as a
    /// precision plan for `run`, `bench`, `validate` and the delegate.
    #[arg(long, value_name = "PLAN.json")]
    pub save_plan: Option<PathBuf>,
    /// Rows of the per-layer table printed as text.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

fn metrics_line(m: &Metrics) -> String {
    format!(
        "max_abs {:.3e}  mean_abs {:.3e}  rmse {:.3e}  max_rel {:.3e}  cosine {:.6}  snr {}{}{}",
        m.max_abs_error,
        m.mean_abs_error,
        m.rmse,
        m.max_rel_error,
        m.cosine,
        m.snr_db.map_or("inf".into(), |s| format!("{s:.1} dB")),
        m.argmax_agreement
            .map_or(String::new(), |a| format!("  argmax {:.1}%", a * 100.0)),
        if m.nonfinite_reference + m.nonfinite_test > 0 {
            format!(
                "  non-finite cpu {} gpu {}",
                m.nonfinite_reference, m.nonfinite_test
            )
        } else {
            String::new()
        }
    )
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

const CSV_METRICS: [&str; 10] = [
    "num_elements",
    "max_abs_error",
    "mean_abs_error",
    "mean_error",
    "stddev",
    "mean_squared_error",
    "rmse",
    "max_rel_error",
    "cosine",
    "snr_db",
];

fn csv_cells(m: Option<&Metrics>) -> Vec<String> {
    match m {
        None => vec![String::new(); CSV_METRICS.len()],
        Some(m) => vec![
            m.num_elements.to_string(),
            m.max_abs_error.to_string(),
            m.mean_abs_error.to_string(),
            m.mean_error.to_string(),
            m.stddev.to_string(),
            m.mean_squared_error.to_string(),
            m.rmse.to_string(),
            m.max_rel_error.to_string(),
            m.cosine.to_string(),
            m.snr_db.map_or("inf".into(), |s| s.to_string()),
        ],
    }
}

/// The per-layer table as CSV, worst local error first.
fn csv(rows: &[LayerRow]) -> String {
    let mut head = vec!["node", "op", "tensor", "name", "shape", "device", "depth"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for mode in ["local", "propagated"] {
        head.extend(CSV_METRICS.iter().map(|m| format!("{mode}_{m}")));
    }
    let mut out = head.join(",") + "\n";
    for r in validate::worst_first(rows) {
        let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
        let mut cells = vec![
            r.node.to_string(),
            r.op.clone(),
            r.tensor.to_string(),
            format!("\"{}\"", r.name.replace('"', "\"\"")),
            shape.join("x"),
            r.device.to_string(),
            r.depth.to_string(),
        ];
        cells.extend(csv_cells(r.local.as_ref()));
        cells.extend(csv_cells(r.propagated.as_ref()));
        out += &(cells.join(",") + "\n");
    }
    out
}

fn print_text(name: &str, v: &Validation, top: usize) {
    outln!("model: {name}");
    outln!(
        "gpu: {} at {}; {} input set(s); thresholds max_rel {} cosine {}",
        v.adapter,
        v.precision,
        v.inputs,
        v.thresholds.max_rel,
        v.thresholds.min_cosine
    );
    if !v.fp32_nodes.is_empty() {
        outln!("fp32 nodes: {:?}", v.fp32_nodes);
    }
    for line in super::promoted_lines(&v.promoted_fp32_nodes) {
        outln!("{line}");
    }
    for o in &v.outputs {
        let verdict = if o.failures.is_empty() {
            "PASS".to_string()
        } else {
            format!("FAIL ({})", o.failures.join("; "))
        };
        outln!("output {} {} {:?}: {verdict}", o.index, o.name, o.shape);
        outln!("  {}", metrics_line(&o.metrics));
    }
    if v.layers.is_empty() {
        return;
    }
    outln!(
        "layers, worst local error first ({} of {}):",
        top.min(v.layers.len()),
        v.layers.len()
    );
    outln!(
        "  {:>5} {:<24} {:<12} {:>4}  {:>10} {:>10}  {:>10} {:>10}  name",
        "node",
        "op",
        "shape",
        "dev",
        "local_rel",
        "local_rmse",
        "prop_rel",
        "prop_cos"
    );
    for r in validate::worst_first(&v.layers).into_iter().take(top) {
        let f = |m: Option<&Metrics>, g: fn(&Metrics) -> f64| {
            m.map_or("-".to_string(), |m| format!("{:.3e}", g(m)))
        };
        let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
        outln!(
            "  {:>5} {:<24} {:<12} {:>4}  {:>10} {:>10}  {:>10} {:>10}  {}",
            r.node,
            r.op,
            shape.join("x"),
            r.device,
            f(r.local.as_ref(), |m| m.max_rel_error),
            f(r.local.as_ref(), |m| m.rmse),
            f(r.propagated.as_ref(), |m| m.max_rel_error),
            r.propagated
                .as_ref()
                .map_or("-".to_string(), |m| format!("{:.6}", m.cosine)),
            r.name
        );
    }
}

/// A finished validation and what it ran on.
struct Outcome {
    model: Model,
    name: String,
    inputs: Vec<Vec<Tensor>>,
    opts: ValidateOptions,
    v: Validation,
    mixed: Option<MixedSearch>,
}

/// The validation options the flags ask for.
fn options(a: &ValidateArgs) -> ValidateOptions {
    ValidateOptions {
        precision_loss_allowed: matches!(a.precision, PrecisionArg::Fp16),
        gpu: DeviceOptions {
            backend: super::backend(a.backend),
            high_performance: true,
        },
        partitions: PartitionOptions {
            fp32_nodes: a.fp32_nodes.clone(),
            ..Default::default()
        },
        per_layer: a.per_layer
            || a.report.is_some()
            || a.csv.is_some()
            || a.model_explorer.is_some(),
        thresholds: Thresholds {
            max_rel: a.max_rel,
            min_cosine: a.min_cosine,
        },
        cache_dir: a
            .cache_dir
            .clone()
            .map_or(crate::CacheDir::Default, crate::CacheDir::Dir),
    }
}

/// The input sets: `given` (one set), else the `--input` files, else `--random`
/// seeded sets.
fn input_sets(
    a: &ValidateArgs,
    model: &Model,
    given: Option<Vec<Tensor>>,
) -> Result<Vec<Vec<Tensor>>> {
    if let Some(set) = given {
        return Ok(vec![set]);
    }
    let sg = crate::Interpreter::new(model)?.graph().main().clone();
    if a.inputs.is_empty() {
        return validate::random_inputs(&sg, a.random.max(1), a.seed);
    }
    if a.inputs.len() != sg.inputs.len() {
        return Err(Error::Input {
            index: a.inputs.len(),
            what: format!(
                "{} --input files given, the model has {} inputs",
                a.inputs.len(),
                sg.inputs.len()
            ),
        });
    }
    Ok(vec![a
        .inputs
        .iter()
        .map(npy::read)
        .collect::<Result<Vec<_>>>()?])
}

/// Validate as the flags say, on `given` inputs when there are some.
fn evaluate(a: &ValidateArgs, given: Option<Vec<Tensor>>) -> Result<Outcome> {
    let (model, name) = load(&a.model)?;
    let inputs = input_sets(a, &model, given)?;
    let mut opts = options(a);
    if let Some(path) = &a.precision_plan {
        let plan = PrecisionPlan::read(path)?;
        if let Some(hash) = model.sha256() {
            plan.check_model(hash, &name)?;
        }
        let sg = crate::Interpreter::new(&model)?.graph().main().clone();
        let nodes = &mut opts.partitions.fp32_nodes;
        nodes.extend(plan.resolve(&sg)?);
        nodes.sort_unstable();
        nodes.dedup();
    }
    let (v, mixed) = if a.auto_mixed {
        let (search, v) = validate::auto_mixed(&model, &inputs, &opts)?;
        (v, Some(search))
    } else {
        (validate::validate(&model, &inputs, &opts)?, None)
    };
    Ok(Outcome {
        model,
        name,
        inputs,
        opts,
        v,
        mixed,
    })
}

/// Write the fp32 node set of `o` (the search's, or the one given) as a precision
/// plan for this model.
fn save_plan(a: &ValidateArgs, o: &Outcome, path: &Path) -> Result<()> {
    let sg = crate::Interpreter::new(&o.model)?.graph().main().clone();
    let plan = PrecisionPlan {
        model: a
            .model
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .or(Some(o.name.clone())),
        model_sha256: o.model.sha256().map(str::to_string),
        graph_nodes: Some(sg.nodes.len()),
        fp32_nodes: o
            .mixed
            .as_ref()
            .map_or_else(|| o.v.fp32_nodes.clone(), |s| s.fp32_nodes.clone()),
        thresholds: Some(PlanThresholds {
            max_rel: a.max_rel,
            min_cosine: a.min_cosine,
            met: o.v.pass(),
        }),
        search: o.mixed.as_ref().map(|s| s.summary()),
        ..Default::default()
    };
    plan.write(path)
}

/// The `--json` document: the validation with the model's name, the verdict and
/// the fp32-node search.
fn document(o: &Outcome) -> Result<serde_json::Value> {
    let json = |e: serde_json::Error| Error::Stopped(format!("validate --json: {e}"));
    let mut doc = serde_json::to_value(&o.v).map_err(json)?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("model".into(), o.name.clone().into());
        obj.insert("pass".into(), o.v.pass().into());
        if let Some(s) = &o.mixed {
            obj.insert("auto_mixed".into(), serde_json::to_value(s).map_err(json)?);
        }
    }
    Ok(doc)
}

/// The `validate --json` document for the flags `a`, on `given` inputs (one set,
/// one tensor per model input) instead of files or random sets; the Python
/// module returns it.
#[cfg(feature = "python")]
pub(crate) fn validate_document(
    a: &ValidateArgs,
    given: Option<Vec<Tensor>>,
) -> Result<serde_json::Value> {
    document(&evaluate(a, given)?)
}

fn print_mixed(s: &MixedSearch) {
    let list: Vec<String> = s.fp32_nodes.iter().map(|n| n.to_string()).collect();
    outln!(
        "auto-mixed ({} GPU runs, fp32 share of FLOPs {:.1}%): {}",
        s.evaluations,
        100.0 * s.fp32_flop_share,
        s.verdict
    );
    const ROWS: usize = 20;
    for p in s.promoted.iter().take(ROWS) {
        outln!(
            "  promoted node {} {} (depth {}): {}, local max_rel {:.3e}",
            p.node,
            p.op,
            p.depth,
            p.reason,
            p.local_max_rel_error
        );
    }
    if s.promoted.len() > ROWS {
        outln!("  ... and {} more promoted nodes", s.promoted.len() - ROWS);
    }
    if !s.candidates.is_empty() {
        outln!(
            "  candidates feeding failing output(s) {:?}, promoted alone:",
            s.failing_outputs
        );
        outln!(
            "    {:<7} {:>10} {:>11} {:>11} {:>10} {:>12}  nodes",
            "kind",
            "fp32 FLOPs",
            "local_rel",
            "output_rel",
            "gain",
            "gain/GFLOP"
        );
        let num = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.3e}"));
        let unmeasured = s.candidates.iter().filter(|c| c.gain.is_none()).count();
        for c in s.candidates.iter().filter(|c| c.gain.is_some()) {
            outln!(
                "    {:<7} {:>9.2}% {:>11} {:>11} {:>10} {:>12}  {}",
                c.kind.name(),
                100.0 * c.flop_share,
                num(c.local_max_rel_error),
                num(c.measured_max_rel_error),
                num(c.gain),
                num(c.gain_per_gflop),
                node_list(&c.nodes)
            );
        }
        if unmeasured > 0 {
            outln!("    ... and {unmeasured} candidates not measured within the GPU runs");
        }
    }
    if !s.baseline_pass {
        outln!("  trade-off (sets tried; * no other set is cheaper with a smaller error):");
        outln!(
            "    {:>1} {:>10} {:>6} {:>11} {:>10} {:>6}  {:<14} added nodes",
            "",
            "fp32 FLOPs",
            "nodes",
            "worst_rel",
            "worst_cos",
            "result",
            "set"
        );
        for p in &s.tradeoff {
            outln!(
                "    {:>1} {:>9.2}% {:>6} {:>11.3e} {:>10.6} {:>6}  {:<14} {}",
                if p.frontier { "*" } else { "" },
                100.0 * p.fp32_flop_share,
                p.fp32_nodes.len(),
                p.worst_max_rel_error,
                p.worst_cosine,
                if p.pass { "PASS" } else { "FAIL" },
                p.set,
                node_list(&p.fp32_nodes)
            );
        }
    }
    if !s.baseline_pass {
        outln!("  use --fp32-nodes {} (or --save-plan)", list.join(","));
    }
}

/// Node indices as a short list: the first few and a count of the rest.
fn node_list(nodes: &[usize]) -> String {
    const SHOWN: usize = 12;
    let head: Vec<String> = nodes.iter().take(SHOWN).map(|n| n.to_string()).collect();
    if nodes.len() > SHOWN {
        format!("{} (+{} more)", head.join(","), nodes.len() - SHOWN)
    } else if nodes.is_empty() {
        "-".to_string()
    } else {
        head.join(",")
    }
}

/// Run `validate`; `Ok(false)` when a threshold fails.
pub fn validate(a: &ValidateArgs) -> Result<bool> {
    let o = evaluate(a, None)?;
    if let Some(path) = &a.save_plan {
        save_plan(a, &o, path)?;
    }
    if let Some(path) = &a.csv {
        write_file(path, &csv(&o.v.layers))?;
    }
    if let Some(path) = &a.model_explorer {
        for p in validate::write_node_data(path, &validate::layer_metrics(&o.v.layers))? {
            tracing::info!("wrote Model Explorer node data {}", p.display());
        }
    }
    if let Some(path) = &a.report {
        let mut other_opts = o.opts.clone();
        other_opts.precision_loss_allowed = !o.opts.precision_loss_allowed;
        other_opts.partitions.fp32_nodes = Vec::new();
        let other = validate::validate(&o.model, &o.inputs, &other_opts)?;
        let html = validate::html_report(&o.name, &o.v, Some(&other), o.mixed.as_ref());
        write_file(path, &html)?;
    }
    if a.json {
        let doc = document(&o)?;
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_text(&o.name, &o.v, a.top);
        if let Some(s) = &o.mixed {
            print_mixed(s);
        }
        outln!("{}", if o.v.pass() { "PASS" } else { "FAIL" });
    }
    Ok(o.v.pass())
}
