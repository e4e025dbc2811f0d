//! Per-node error as Model Explorer node data: a user opens the `.tflite` file in
//! Model Explorer, loads these files as node data, and sees on the graph where
//! fp16 or int8 hurts.
//!
//! The format is Model Explorer's `GraphNodeData`: `{"results": {KEY: {"value":
//! N}}, "thresholds": [{"value": N, "bgColor": CSS}]}`. A key is an output tensor
//! name of the node, which Model Explorer matches against the `tensor_name` of the
//! node's outputs in the graph it builds from the `.tflite` file, so the values
//! land on the right nodes even though validation numbers nodes after folding
//! and fusing. One file holds one metric; [`write_node_data`] writes three.

use super::layers::LayerRow;
use super::metrics::Metrics;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// A metric shown as Model Explorer node data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplorerMetric {
    /// Largest error relative to the tensor's range (lower is better).
    MaxRel,
    /// Cosine similarity to the reference (higher is better).
    Cosine,
    /// Signal-to-noise ratio in dB (higher is better; no error at all shows as
    /// [`SNR_NO_ERROR_DB`]).
    SnrDb,
}

/// The SNR shown for a tensor with no error at all (JSON has no infinity).
pub const SNR_NO_ERROR_DB: f64 = 300.0;

impl ExplorerMetric {
    /// Every metric, in the order [`write_node_data`] writes them.
    pub const ALL: [ExplorerMetric; 3] = [Self::MaxRel, Self::Cosine, Self::SnrDb];

    /// The metric's name in file names and documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxRel => "max_rel",
            Self::Cosine => "cosine",
            Self::SnrDb => "snr_db",
        }
    }

    fn value(self, m: &Metrics) -> Option<f64> {
        let v = match self {
            Self::MaxRel => m.max_rel_error,
            Self::Cosine => m.cosine,
            Self::SnrDb => m.snr_db.unwrap_or(SNR_NO_ERROR_DB),
        };
        v.is_finite().then_some(v)
    }

    /// Upper bounds and colours: good, worth a look, bad.
    fn thresholds(self) -> Value {
        let (good, amber, red) = ("#4caf50", "#ffc107", "#f44336");
        let top = f64::MAX;
        match self {
            Self::MaxRel => json!([
                {"value": 0.005, "bgColor": good},
                {"value": 0.02, "bgColor": amber},
                {"value": top, "bgColor": red},
            ]),
            Self::Cosine => json!([
                {"value": 0.99, "bgColor": red},
                {"value": 0.999, "bgColor": amber},
                {"value": 1.0, "bgColor": good},
            ]),
            Self::SnrDb => json!([
                {"value": 20.0, "bgColor": red},
                {"value": 40.0, "bgColor": amber},
                {"value": top, "bgColor": good},
            ]),
        }
    }
}

/// Which per-layer comparison a value comes from.
fn metrics_of(row: &LayerRow) -> Option<&Metrics> {
    // Local error isolates what the layer itself adds; a node that had no local
    // run (a CPU node, a fused member) shows its propagated error.
    row.local.as_ref().or(row.propagated.as_ref())
}

/// Each named row of `validate --per-layer` with the metrics it shows.
pub fn layer_metrics(layers: &[LayerRow]) -> Vec<(String, Metrics)> {
    layers
        .iter()
        .filter_map(|r| metrics_of(r).map(|m| (r.name.clone(), m.clone())))
        .collect()
}

/// The node-data document of `metric` over `rows`: (output tensor name, its
/// metrics), from `validate --per-layer` ([`layer_metrics`]) or the quantization
/// report.
pub fn node_data(rows: &[(String, Metrics)], metric: ExplorerMetric) -> Value {
    let mut results = Map::new();
    for (name, m) in rows {
        if name.is_empty() {
            continue;
        }
        let Some(v) = metric.value(m) else {
            continue;
        };
        results.insert(name.clone(), json!({ "value": v }));
    }
    json!({ "results": results, "thresholds": metric.thresholds() })
}

/// The path of `metric`'s file: `base` itself for max_rel, `STEM.cosine.json` and
/// `STEM.snr_db.json` beside it for the others.
pub fn node_data_path(base: &Path, metric: ExplorerMetric) -> PathBuf {
    if metric == ExplorerMetric::MaxRel {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "node_data".into());
    base.with_file_name(format!("{stem}.{}.json", metric.name()))
}

/// Writes the three node-data files for `rows` (see [`node_data`] and
/// [`node_data_path`]), each through a temporary file renamed over the target;
/// returns their paths.
pub fn write_node_data(base: &Path, rows: &[(String, Metrics)]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for metric in ExplorerMetric::ALL {
        let path = node_data_path(base, metric);
        // A `Value` always serializes.
        let text = serde_json::to_string_pretty(&node_data(rows, metric)).unwrap_or_default();
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(max_rel: f64, cosine: f64, snr: Option<f64>) -> Metrics {
        Metrics {
            max_rel_error: max_rel,
            cosine,
            snr_db: snr,
            ..Metrics::default()
        }
    }

    fn row(name: &str, local: Option<Metrics>, propagated: Option<Metrics>) -> LayerRow {
        LayerRow {
            node: 0,
            op: "ADD".into(),
            tensor: 0,
            name: name.into(),
            shape: vec![1],
            device: "gpu",
            depth: 0,
            propagated,
            local,
            note: None,
        }
    }

    #[test]
    fn keys_are_tensor_names_and_values_follow_the_metric() {
        let rows = [
            row("a", Some(metrics(0.1, 0.9, Some(12.0))), None),
            row("b", None, Some(metrics(0.001, 1.0, None))),
            row("", Some(metrics(0.5, 0.5, Some(1.0))), None),
            row("nan", Some(metrics(f64::NAN, f64::NAN, None)), None),
        ];
        let rows = layer_metrics(&rows);
        let d = node_data(&rows, ExplorerMetric::MaxRel);
        assert_eq!(d["results"]["a"]["value"], 0.1);
        assert_eq!(d["results"]["b"]["value"], 0.001);
        assert_eq!(d["results"].as_object().map(|m| m.len()), Some(2));
        let s = node_data(&rows, ExplorerMetric::SnrDb);
        assert_eq!(s["results"]["b"]["value"], SNR_NO_ERROR_DB);
        let c = node_data(&rows, ExplorerMetric::Cosine);
        assert_eq!(c["thresholds"][2]["value"], 1.0);
        let p = node_data_path(Path::new("/x/err.json"), ExplorerMetric::SnrDb);
        assert_eq!(p, Path::new("/x/err.snr_db.json"));
    }
}
