//! The delegate's string options, as `load_delegate(path, {...})` passes them.

use super::error::{CapiError, CapiResult};
use crate::delegate::{PartitionOptions, PrecisionPlan};
use crate::gpu::device::{Backend, DeviceOptions};
use crate::interpreter::{CacheDir, OverflowGuard};

/// Options of one delegate instance.
#[derive(Debug, Clone, Default)]
pub struct DelegateOptions {
    /// fp16 storage and math when the adapter has SHADER_F16.
    pub precision_loss_allowed: bool,
    /// Adapter choice.
    pub device: DeviceOptions,
    /// Partitioning limits and fp32 nodes.
    pub partitions: PartitionOptions,
    /// What happens when an fp16 GPU store saturates (`overflow_guard`).
    pub overflow_guard: OverflowGuard,
    /// A precision plan whose nodes are added to the fp32 nodes at prepare.
    pub precision_plan: Option<PrecisionPlan>,
    /// Where compiled pipelines persist (`cache_dir`; empty: none).
    pub cache_dir: CacheDir,
    /// Where the delegate writes its report (JSON) after each Prepare (`report`).
    pub report: Option<std::path::PathBuf>,
}

/// The option keys this delegate accepts, with the values each takes.
pub const KEYS: &[(&str, &str)] = &[
    ("is_precision_loss_allowed", "0 or 1"),
    ("backend", "auto, vulkan, metal, dx12 or gl"),
    (
        "max_delegated_partitions",
        "a non-negative integer (0: no limit)",
    ),
    ("power_preference", "low_power, high_performance or default"),
    (
        "fp32_nodes",
        "comma-separated node indices of the prepared graph",
    ),
    ("min_nodes_per_partition", "a positive integer"),
    ("overflow_guard", "on, off or error"),
    (
        "precision_plan",
        "the path of a precision plan (JSON) for this model",
    ),
    (
        "cache_dir",
        "a directory for the persistent pipeline cache (empty: no cache)",
    ),
    (
        "report",
        "a file the delegate writes its plan to (JSON) after each prepare",
    ),
];

fn flag(key: &str, value: &str) -> CapiResult<bool> {
    match value.trim() {
        "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        v => Err(format!("option {key}: \"{v}\" is not 0 or 1").into()),
    }
}

fn count(key: &str, value: &str) -> CapiResult<usize> {
    value.trim().parse::<usize>().map_err(|_| {
        CapiError::from(format!(
            "option {key}: \"{value}\" is not a non-negative integer"
        ))
    })
}

impl DelegateOptions {
    /// Parse key/value pairs; an unknown key or a bad value is an error naming it.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> CapiResult<DelegateOptions> {
        let mut o = DelegateOptions::default();
        for (key, value) in pairs {
            match key {
                "is_precision_loss_allowed" => o.precision_loss_allowed = flag(key, value)?,
                "backend" => {
                    o.device.backend = Backend::parse(value.trim()).ok_or_else(|| {
                        format!(
                            "option backend: \"{value}\" is not one of auto, vulkan, metal, dx12, gl"
                        )
                    })?
                }
                "max_delegated_partitions" => {
                    let n = count(key, value)?;
                    o.partitions.max_partitions = (n > 0).then_some(n);
                }
                "power_preference" => {
                    o.device.high_performance = match value.trim() {
                        "high_performance" => true,
                        "low_power" | "default" => false,
                        v => {
                            return Err(format!(
                            "option power_preference: \"{v}\" is not low_power, high_performance or default"
                        ).into())
                        }
                    }
                }
                "fp32_nodes" => {
                    o.partitions.fp32_nodes = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| count(key, s))
                        .collect::<Result<_, _>>()?
                }
                "precision_plan" => {
                    o.precision_plan = Some(
                        PrecisionPlan::read(value.trim())
                            .map_err(|e| CapiError::from(format!("option precision_plan: {e}")))?,
                    )
                }
                "min_nodes_per_partition" => {
                    let n = count(key, value)?;
                    if n == 0 {
                        return Err("option min_nodes_per_partition: must be at least 1".into());
                    }
                    o.partitions.min_nodes = n;
                }
                "cache_dir" => {
                    o.cache_dir = match value.trim() {
                        "" => CacheDir::Off,
                        dir => CacheDir::Dir(dir.into()),
                    }
                }
                "report" => {
                    let path = std::path::PathBuf::from(value.trim());
                    let dir = match path.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                        _ => std::path::PathBuf::from("."),
                    };
                    if value.trim().is_empty() || !dir.is_dir() {
                        return Err(format!(
                            "option report: \"{value}\" is not a file in an existing directory"
                        ).into());
                    }
                    o.report = Some(path);
                }
                "overflow_guard" => {
                    o.overflow_guard = value
                        .trim()
                        .parse()
                        .map_err(|e| CapiError::from(format!("option overflow_guard: {e}")))?
                }
                _ => {
                    let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                    return Err(format!(
                        "unknown option \"{key}\" (known: {})",
                        known.join(", ")
                    ).into());
                }
            }
        }
        Ok(o)
    }

    /// These options with the precision plan's nodes of the prepared graph `sg`
    /// added to the fp32 nodes.
    pub fn resolved(&self, sg: &crate::graph::Subgraph) -> CapiResult<DelegateOptions> {
        let mut o = self.clone();
        if let Some(plan) = &self.precision_plan {
            let nodes = plan
                .resolve(sg)
                .map_err(|e| CapiError::from(format!("option precision_plan: {e}")))?;
            o.partitions.fp32_nodes.extend(nodes);
            o.partitions.fp32_nodes.sort_unstable();
            o.partitions.fp32_nodes.dedup();
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let o = DelegateOptions::parse([
            ("is_precision_loss_allowed", "1"),
            ("backend", "vulkan"),
            ("max_delegated_partitions", "2"),
            ("power_preference", "high_performance"),
            ("fp32_nodes", "3, 5,7"),
            ("min_nodes_per_partition", "2"),
            ("overflow_guard", "error"),
            ("cache_dir", "/tmp/pipelines"),
        ])
        .unwrap();
        assert_eq!(o.cache_dir, CacheDir::Dir("/tmp/pipelines".into()));
        let off = DelegateOptions::parse([("cache_dir", "")]).unwrap();
        assert_eq!(off.cache_dir, CacheDir::Off);
        assert!(o.precision_loss_allowed);
        assert_eq!(o.device.backend, Backend::Vulkan);
        assert!(o.device.high_performance);
        assert_eq!(o.partitions.max_partitions, Some(2));
        assert_eq!(o.partitions.fp32_nodes, vec![3, 5, 7]);
        assert_eq!(o.partitions.min_nodes, 2);
        assert_eq!(o.overflow_guard, OverflowGuard::Error);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let e = DelegateOptions::parse([("colour", "red")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option \"colour\""), "{e}");
        let e = DelegateOptions::parse([("is_precision_loss_allowed", "yes")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is_precision_loss_allowed"), "{e}");
        let e = DelegateOptions::parse([("backend", "cuda")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("backend"), "{e}");
        let e = DelegateOptions::parse([("fp32_nodes", "1,x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("fp32_nodes"), "{e}");
        let e = DelegateOptions::parse([("report", "/nonexistent/dir/r.json")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("option report"), "{e}");
        let e = DelegateOptions::parse([("overflow_guard", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("overflow_guard"), "{e}");
        let e = DelegateOptions::parse([("precision_plan", "/nonexistent/p.json")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("precision_plan"), "{e}");
    }

    #[test]
    fn reads_a_precision_plan() {
        let path = std::env::temp_dir().join(format!("capi_plan_{}.json", std::process::id()));
        std::fs::write(&path, "{\"fp32_nodes\": [2], \"fp32_ops\": [\"SUM\"]}").unwrap();
        let o = DelegateOptions::parse([("precision_plan", path.to_str().unwrap())]).unwrap();
        let _ = std::fs::remove_file(&path);
        let plan = o.precision_plan.unwrap();
        assert_eq!(plan.fp32_nodes, vec![2]);
        assert_eq!(plan.fp32_ops, vec!["SUM".to_string()]);
    }
}
