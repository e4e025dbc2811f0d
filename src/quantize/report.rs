//! What a quantization cost: sizes, the error of each output against the float
//! model on the calibration inputs, and the per-layer quantization debugger table.

use super::trace::Tracer;
use super::{QuantizeOptions, Quantized};
use crate::error::Result;
use crate::graph::{DType, Data, Graph, Subgraph, Tensor, TensorInfo};
use crate::validate::{real_values, ErrorStats, Metrics};
use serde::Serialize;

/// The error of one model output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputError {
    /// The output tensor's name.
    pub name: String,
    /// Quantized against float, over all samples.
    pub metrics: Metrics,
}

/// One row of the per-layer table: a node's output in the quantized model against
/// the same tensor of the float model (both run on the same inputs). The columns
/// are those of TensorFlow's quantization debugger, plus SNR, cosine and KL
/// divergence.
#[derive(Debug, Clone, Serialize)]
pub struct LayerError {
    /// Node index in the float model.
    pub node: usize,
    /// The op's TFLite name.
    pub op: String,
    /// The output tensor's index in the main subgraph.
    pub tensor_idx: usize,
    /// The output tensor's name.
    pub tensor: String,
    /// The quantized tensor's scale (the first channel's when per-channel; none
    /// when it stayed float).
    pub scale: Option<f32>,
    /// The quantized tensor's zero point (as `scale`).
    pub zero_point: Option<i64>,
    /// Elements compared.
    pub num_elements: u64,
    /// Standard deviation of the error.
    pub stddev: f64,
    /// Mean signed error.
    pub mean_error: f64,
    /// Largest absolute error.
    pub max_abs_error: f64,
    /// Mean squared error.
    pub mean_squared_error: f64,
    /// Signal-to-noise ratio in dB (none: no error at all).
    pub snr_db: Option<f64>,
    /// Largest error relative to the float tensor's range.
    pub max_rel_error: f64,
    /// Cosine similarity to the float tensor.
    pub cosine: f64,
    /// KL divergence of the quantized tensor's value histogram from the float
    /// one's (see [`kl_divergence`]), averaged over the samples.
    pub kl_divergence: f64,
}

/// Bins of the histograms [`kl_divergence`] compares.
pub const KL_BINS: usize = 128;

/// KL(P || Q) of the value histograms of `reference` (P) and `test` (Q) over
/// [`KL_BINS`] equal bins spanning both; empty bins get 1e-10 so the divergence is
/// finite. 0 for identical values; non-finite values are left out.
pub fn kl_divergence(reference: &[f64], test: &[f64]) -> f64 {
    let finite = |v: &&f64| v.is_finite();
    let (lo, hi) = reference
        .iter()
        .chain(test)
        .filter(finite)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    let hist = |values: &[f64]| {
        let mut h = vec![0.0f64; KL_BINS];
        for &v in values.iter().filter(finite) {
            let b = ((v - lo) / (hi - lo) * KL_BINS as f64) as usize;
            h[b.min(KL_BINS - 1)] += 1.0;
        }
        let total: f64 = h.iter().sum::<f64>().max(1.0);
        h.iter().map(|c| (c / total).max(1e-10)).collect::<Vec<_>>()
    };
    let (p, q) = (hist(reference), hist(test));
    p.iter()
        .zip(&q)
        .map(|(p, q)| p * (p / q).ln())
        .sum::<f64>()
        .max(0.0)
}

/// The report of one quantization.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The mode's name.
    pub mode: String,
    /// Bytes of the float model.
    pub input_bytes: usize,
    /// Bytes of the quantized model.
    pub output_bytes: usize,
    /// output_bytes / input_bytes.
    pub size_ratio: f64,
    /// Samples the errors were measured on.
    pub samples: usize,
    /// Per model output.
    pub outputs: Vec<OutputError>,
    /// Nodes left in float by the full-integer pass: (node, op, reason).
    pub float_nodes: Vec<(usize, String, String)>,
    /// The per-layer table (empty unless asked for).
    pub per_layer: Vec<LayerError>,
    /// Why the errors could not be measured (the CPU reference kernels could not
    /// run one of the models): the weight-only modes need no evaluation, so their
    /// file is written all the same, with no output errors.
    pub not_measured: Option<String>,
}

/// `x` (float) in the type of the quantized model's input `info`.
fn to_interface(x: &Tensor, info: &TensorInfo) -> Tensor {
    let (Some(q), Some(v)) = (&info.quantization, x.as_f32()) else {
        return x.clone();
    };
    let (s, z) = (q.scale_at(0), q.zero_point_at(0) as f32);
    let level = |v: &f32| (v / s).round() + z;
    let data = match info.dtype {
        DType::I8 => Data::I8(
            v.iter()
                .map(|v| level(v).clamp(-128.0, 127.0) as i8)
                .collect(),
        ),
        DType::U8 => Data::U8(v.iter().map(|v| level(v).clamp(0.0, 255.0) as u8).collect()),
        DType::I16 => Data::I16(
            v.iter()
                .map(|v| level(v).clamp(-32768.0, 32767.0) as i16)
                .collect(),
        ),
        _ => return x.clone(),
    };
    Tensor::new(x.shape.clone(), data)
}

/// Run both models on every sample and gather the errors. In the weight-only
/// modes a model the reference kernels cannot run gives a report without errors
/// that says why (those modes never need to evaluate a node).
pub(crate) fn measure(
    float: &Graph,
    q: &Quantized,
    samples: &[Vec<Tensor>],
    options: &QuantizeOptions,
    input_bytes: usize,
    output_bytes: usize,
) -> Result<Report> {
    let (outputs, per_layer, not_measured) = match errors(float, q, samples, options) {
        Ok((outputs, per_layer)) => (outputs, per_layer, None),
        Err(e) if !options.calibrates() => {
            tracing::warn!("the quantized model's error was not measured: {e}");
            (Vec::new(), Vec::new(), Some(e.to_string()))
        }
        Err(e) => return Err(e),
    };
    Ok(Report {
        mode: options.name(),
        input_bytes,
        output_bytes,
        size_ratio: output_bytes as f64 / input_bytes.max(1) as f64,
        samples: samples.len(),
        outputs,
        float_nodes: q.float_nodes.clone(),
        per_layer,
        not_measured,
    })
}

/// The error of every output (and, when asked, of every layer) over `samples`.
fn errors(
    float: &Graph,
    q: &Quantized,
    samples: &[Vec<Tensor>],
    options: &QuantizeOptions,
) -> Result<(Vec<OutputError>, Vec<LayerError>)> {
    let (fsg, qsg): (&Subgraph, &Subgraph) = (float.main(), q.graph.main());
    let mut outs = vec![ErrorStats::default(); fsg.outputs.len()];
    let mut layers: Vec<ErrorStats> = vec![ErrorStats::default(); fsg.tensors.len()];
    let mut kl = vec![(0.0f64, 0usize); fsg.tensors.len()];
    let (float_run, quantized_run) = (Tracer::new(float, None)?, Tracer::new(&q.graph, None)?);
    for sample in samples {
        let fv = float_run.run_main(sample)?;
        let qin: Vec<Tensor> = sample
            .iter()
            .zip(&qsg.inputs)
            .map(|(x, &t)| to_interface(x, &qsg.tensors[t]))
            .collect();
        let qv = quantized_run.run_main(&qin)?;
        for (k, (&ft, &qt)) in fsg.outputs.iter().zip(&qsg.outputs).enumerate() {
            if let (Some(a), Some(b)) = (&fv[ft], &qv[qt]) {
                compare(&mut outs[k], a, &fsg.tensors[ft], b, &qsg.tensors[qt]);
            }
        }
        if options.per_layer {
            for node in &fsg.nodes {
                for &t in &node.outputs {
                    if let (Some(a), Some(Some(b))) = (&fv[t], qv.get(t)) {
                        compare(&mut layers[t], a, &fsg.tensors[t], b, &qsg.tensors[t]);
                        let (x, y) = (
                            real_values(a, &fsg.tensors[t]),
                            real_values(b, &qsg.tensors[t]),
                        );
                        if let (Some(x), Some(y)) = (x, y) {
                            kl[t].0 += kl_divergence(&x, &y);
                            kl[t].1 += 1;
                        }
                    }
                }
            }
        }
    }
    let per_layer = if options.per_layer {
        fsg.nodes
            .iter()
            .enumerate()
            .flat_map(|(n, node)| node.outputs.iter().map(move |&t| (n, node, t)))
            .filter(|&(_, _, t)| fsg.tensors[t].dtype == DType::F32)
            .map(|(n, node, t)| {
                let m = layers[t].finish();
                let q = qsg.tensors.get(t).and_then(|i| i.quantization.as_ref());
                LayerError {
                    node: n,
                    op: node.op.name().to_string(),
                    tensor_idx: t,
                    tensor: fsg.tensors[t].name.clone(),
                    scale: q.map(|q| q.scale_at(0)),
                    zero_point: q.map(|q| q.zero_point_at(0)),
                    num_elements: m.num_elements,
                    stddev: m.stddev,
                    mean_error: m.mean_error,
                    max_abs_error: m.max_abs_error,
                    mean_squared_error: m.mean_squared_error,
                    snr_db: m.snr_db,
                    max_rel_error: m.max_rel_error,
                    cosine: m.cosine,
                    kl_divergence: kl[t].0 / kl[t].1.max(1) as f64,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let outputs = fsg
        .outputs
        .iter()
        .zip(&outs)
        .map(|(&t, s)| OutputError {
            name: fsg.tensors[t].name.clone(),
            metrics: s.finish(),
        })
        .collect();
    Ok((outputs, per_layer))
}

/// Add one float/quantized pair of the same tensor to `stats`.
fn compare(stats: &mut ErrorStats, a: &Tensor, ai: &TensorInfo, b: &Tensor, bi: &TensorInfo) {
    if let (Some(x), Some(y)) = (real_values(a, ai), real_values(b, bi)) {
        if x.len() == y.len() {
            stats.add(&x, &y, &a.shape);
        }
    }
}

/// The columns of [`Report::per_layer_csv`]: the node, then TensorFlow's
/// quantization debugger's (`op_name` ... `mean_squared_error`), then SNR
/// (empty: no error), cosine and KL divergence.
pub const PER_LAYER_COLUMNS: [&str; 14] = [
    "node",
    "op_name",
    "tensor_idx",
    "tensor_name",
    "scale",
    "zero_point",
    "num_elements",
    "stddev",
    "mean_error",
    "max_abs_error",
    "mean_squared_error",
    "snr_db",
    "cosine",
    "kl_divergence",
];

impl Report {
    /// Each per-layer row as (output tensor name, metrics), for Model Explorer
    /// node data (`crate::validate::write_node_data`).
    pub fn layer_metrics(&self) -> Vec<(String, Metrics)> {
        self.per_layer
            .iter()
            .map(|r| {
                let m = Metrics {
                    num_elements: r.num_elements,
                    max_abs_error: r.max_abs_error,
                    mean_error: r.mean_error,
                    stddev: r.stddev,
                    mean_squared_error: r.mean_squared_error,
                    max_rel_error: r.max_rel_error,
                    cosine: r.cosine,
                    snr_db: r.snr_db,
                    ..Metrics::default()
                };
                (r.tensor.clone(), m)
            })
            .collect()
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "mode {}: {} -> {} bytes ({:.3}x)\n",
            self.mode, self.input_bytes, self.output_bytes, self.size_ratio
        );
        if let Some(why) = &self.not_measured {
            s += &format!("the error against the float model was not measured: {why}\n");
        } else {
            s += &format!("against the float model on {} sample(s):\n", self.samples);
        }
        for o in &self.outputs {
            let m = &o.metrics;
            s += &format!(
                "  {}: cosine {:.6}  max_abs {:.4e}  rmse {:.4e}  snr {}{}\n",
                o.name,
                m.cosine,
                m.max_abs_error,
                m.rmse,
                m.snr_db.map_or("inf".to_string(), |v| format!("{v:.1} dB")),
                m.argmax_agreement
                    .map_or(String::new(), |a| format!("  argmax agreement {a:.3}"))
            );
        }
        if !self.float_nodes.is_empty() {
            s += &format!("{} node(s) stay float:\n", self.float_nodes.len());
            for (n, op, why) in &self.float_nodes {
                s += &format!("  node {n} {op}: {why}\n");
            }
        }
        s
    }

    /// The per-layer table as CSV: the quantization debugger's columns
    /// ([`PER_LAYER_COLUMNS`]), one row per float output of a node.
    pub fn per_layer_csv(&self) -> String {
        let mut s = PER_LAYER_COLUMNS.join(",") + "\n";
        let opt = |v: Option<String>| v.unwrap_or_default();
        for r in &self.per_layer {
            s += &format!(
                "{},{},{},\"{}\",{},{},{},{:e},{:e},{:e},{:e},{},{},{:e}\n",
                r.node,
                r.op,
                r.tensor_idx,
                r.tensor.replace('"', "\"\""),
                opt(r.scale.map(|v| format!("{v:e}"))),
                opt(r.zero_point.map(|v| v.to_string())),
                r.num_elements,
                r.stddev,
                r.mean_error,
                r.max_abs_error,
                r.mean_squared_error,
                opt(r.snr_db.map(|v| format!("{v:.3}"))),
                r.cosine,
                r.kl_divergence,
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::kl_divergence;

    #[test]
    fn kl_divergence_is_zero_for_equal_values_and_grows_with_distortion() {
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
        assert_eq!(kl_divergence(&x, &x), 0.0);
        let coarse: Vec<f64> = x.iter().map(|v| (v * 4.0).round() / 4.0).collect();
        let coarser: Vec<f64> = x.iter().map(|v| v.round()).collect();
        let (a, b) = (kl_divergence(&x, &coarse), kl_divergence(&x, &coarser));
        assert!(a > 0.0 && b > a, "{a} {b}");
        assert_eq!(kl_divergence(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
        assert!(kl_divergence(&[f64::NAN, 0.0, 1.0], &[0.0, 1.0, f64::INFINITY]).is_finite());
    }
}
