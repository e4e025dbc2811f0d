//! `quantize`: post-training quantization of a float model (the library's
//! `tflite_wgpu::quantize::quantize_file`), printing its report.

use crate::cli::{out, outln};
use crate::quantize::{self, Calibration, IoType, KeepFloat, Mode, QuantizeOptions, Recipe};
use std::path::PathBuf;

/// `--mode`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    /// float16 weights behind DEQUANTIZE.
    Fp16,
    /// int8 weights behind DEQUANTIZE, float compute.
    WeightInt8,
    /// int8 weights read by the hybrid kernels (dynamic range).
    DynamicInt8,
    /// Full integer with calibrated activations.
    Int8,
    /// Full integer with calibrated int16 activations and int8 weights (LiteRT's
    /// 16x8 scheme).
    #[value(name = "int16x8")]
    Int16x8,
}

/// `--io`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum IoArg {
    Float,
    Int8,
    Uint8,
    Int16,
}

/// Arguments of `quantize`.
#[derive(clap::Args)]
pub struct QuantizeArgs {
    /// The float .tflite model (never modified).
    pub model: PathBuf,
    /// The quantized model to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// What to quantize (the default of the nodes no recipe entry matches; with
    /// `--recipe` and no mode, those stay float).
    #[arg(long, value_enum, required_unless_present = "recipe")]
    pub mode: Option<ModeArg>,
    /// Calibration samples: one .npy per sample (one input), or one directory of
    /// input_<i>.npy per sample.
    #[arg(long, conflicts_with = "calibration_random")]
    pub calibration: Option<PathBuf>,
    /// Calibrate on this many seeded random samples.
    #[arg(long)]
    pub calibration_random: Option<usize>,
    /// The model interface in the full-integer modes (int8 and uint8 in int8,
    /// int16 in int16x8).
    #[arg(long, value_enum, default_value = "float")]
    pub io: IoArg,
    /// Keep nodes float: node indices, op types (e.g. SOFTMAX), output-name
    /// regexes (prefix `re:`) or a precision plan file (`PLAN.json`), comma separated.
    #[arg(long, value_delimiter = ',')]
    pub keep_float: Vec<String>,
    /// An AI Edge Quantizer recipe (the subset in docs/cli.md): per op type and
    /// output name, what is quantized and how.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Percentile of activations the calibrated ranges keep.
    #[arg(long, default_value_t = 100.0)]
    pub percentile: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the per-layer error table to this CSV file.
    #[arg(long)]
    pub per_layer: Option<PathBuf>,
    /// Keep these op types float (the quantization debugger's name for
    /// `--keep-float OP`), comma separated.
    #[arg(long, value_delimiter = ',')]
    pub denylist_ops: Vec<String>,
    /// Keep the nodes with these output tensor names float (the quantization
    /// debugger's node names), comma separated.
    #[arg(long, value_delimiter = ',')]
    pub denylist_nodes: Vec<String>,
    /// Write per-node error against the float model as Model Explorer node data
    /// (FILE.json: max_rel; FILE.cosine.json, FILE.snr_db.json beside it).
    #[arg(long, value_name = "FILE.json")]
    pub model_explorer: Option<PathBuf>,
}

/// Run `quantize`.
pub fn quantize(a: &QuantizeArgs) -> crate::Result<()> {
    let report = quantize_report(a)?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        out!("{}", report.text());
        outln!("wrote {}", a.output.display());
    }
    Ok(())
}

/// `quantize` without printing: write the quantized model (and the per-layer
/// CSV when asked) and return the report that `--json` prints.
pub fn quantize_report(a: &QuantizeArgs) -> crate::Result<quantize::Report> {
    let mut keep = KeepFloat::default();
    for k in &a.keep_float {
        if let Ok(n) = k.parse::<usize>() {
            keep.nodes.push(n);
        } else if k.ends_with(".json") {
            let plan = crate::delegate::PrecisionPlan::read(k)?;
            keep.nodes.extend(&plan.fp32_nodes);
            keep.ops.extend(plan.fp32_ops);
            keep.names.extend(plan.fp32_tensors);
        } else if let Some(r) = k.strip_prefix("re:") {
            keep.names.push(r.to_string());
        } else {
            keep.ops.push(k.clone());
        }
    }
    keep.ops.extend(a.denylist_ops.iter().cloned());
    keep.names.extend(
        a.denylist_nodes
            .iter()
            .map(|n| format!("^{}$", regex::escape(n))),
    );
    let options = QuantizeOptions {
        mode: match a.mode {
            Some(ModeArg::Fp16) => Mode::Fp16,
            Some(ModeArg::WeightInt8) => Mode::WeightInt8,
            Some(ModeArg::DynamicInt8) => Mode::DynamicInt8,
            Some(ModeArg::Int8) => Mode::Int8,
            Some(ModeArg::Int16x8) => Mode::Int16x8,
            None => Mode::Recipe,
        },
        calibration: match (&a.calibration, a.calibration_random) {
            (Some(d), _) => Calibration::Dir(d.clone()),
            (None, Some(n)) => Calibration::Random(n),
            (None, None) => Calibration::None,
        },
        io: match a.io {
            IoArg::Float => IoType::Float,
            IoArg::Int8 => IoType::Int8,
            IoArg::Uint8 => IoType::Uint8,
            IoArg::Int16 => IoType::Int16,
        },
        keep_float: keep,
        percentile: a.percentile,
        per_layer: a.per_layer.is_some() || a.model_explorer.is_some(),
        recipe: a.recipe.as_deref().map(Recipe::from_file).transpose()?,
    };
    let report = quantize::quantize_file(&a.model, &a.output, &options)?;
    if let Some(csv) = &a.per_layer {
        std::fs::write(csv, report.per_layer_csv()).map_err(|source| crate::Error::Io {
            path: csv.display().to_string(),
            source,
        })?;
    }
    if let Some(path) = &a.model_explorer {
        for p in crate::validate::write_node_data(path, &report.layer_metrics())? {
            tracing::info!("wrote Model Explorer node data {}", p.display());
        }
    }
    Ok(report)
}
