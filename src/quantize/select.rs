//! Selective quantization: the nodes that stay float, chosen by index, op type,
//! output-name regex, or a recipe in the AI Edge Quantizer format.

use super::invalid;
use crate::error::{Error, Result};
use crate::graph::Subgraph;
use regex::Regex;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// Nodes of the main subgraph kept in float.
#[derive(Debug, Clone, Default)]
pub struct KeepFloat {
    /// Node indices (as `inspect` prints them).
    pub nodes: Vec<usize>,
    /// Op types by TFLite name, e.g. `SOFTMAX` (case-insensitive).
    pub ops: Vec<String>,
    /// Regexes over the nodes' output tensor names.
    pub names: Vec<String>,
    /// A recipe whose `no_quantize` entries add nodes.
    pub recipe: Option<Recipe>,
}

/// One entry of a recipe.
#[derive(Debug, Clone)]
struct Entry {
    regex: String,
    operation: String,
    no_quantize: bool,
}

/// The subset of the AI Edge Quantizer recipe format this crate implements: a JSON
/// list of entries with `regex` (over output tensor names), `operation` (a TFLite
/// op name or `*`), `algorithm_key` (`min_max_uniform_quantize`, `float_casting` or
/// `no_quantize`) and `op_config` (`weight_tensor_config` and
/// `activation_tensor_config` with `num_bits` 8, `symmetric`, `granularity`
/// `CHANNELWISE`/`TENSORWISE` and `dtype` `INT`; `compute_precision`,
/// `explicit_dequantize`, `skip_checks`). Later entries override earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Recipe {
    entries: Vec<Entry>,
}

fn unknown(file: &str, key: &str) -> Error {
    invalid(format!("recipe {file}: unknown or unsupported key {key:?}"))
}

fn check_keys(file: &str, v: &Value, allowed: &[&str], prefix: &str) -> Result<()> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(format!("recipe {file}: {prefix} must be an object")))?;
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(unknown(file, &format!("{prefix}{k}")));
        }
    }
    Ok(())
}

fn check_tensor_config(file: &str, v: &Value, prefix: &str) -> Result<()> {
    check_keys(
        file,
        v,
        &[
            "num_bits",
            "symmetric",
            "granularity",
            "dtype",
            "block_size",
        ],
        prefix,
    )?;
    let bad = |k: &str, val: &Value| {
        invalid(format!(
            "recipe {file}: {prefix}{k} = {val} is not supported"
        ))
    };
    if let Some(b) = v.get("num_bits") {
        if b.as_u64() != Some(8) && b.as_u64() != Some(16) {
            return Err(bad("num_bits", b));
        }
    }
    if let Some(g) = v.get("granularity") {
        if !matches!(g.as_str(), Some("CHANNELWISE" | "TENSORWISE")) {
            return Err(bad("granularity", g));
        }
    }
    if let Some(d) = v.get("dtype") {
        if !matches!(d.as_str(), Some("INT" | "FLOAT")) {
            return Err(bad("dtype", d));
        }
    }
    if let Some(b) = v.get("block_size") {
        if b.as_u64().unwrap_or(1) != 0 {
            return Err(bad("block_size", b));
        }
    }
    Ok(())
}

impl Recipe {
    /// Parse recipe JSON; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Recipe> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("recipe {file}: {e}")))?;
        let list = v
            .as_array()
            .ok_or_else(|| invalid(format!("recipe {file}: expected a JSON list of entries")))?;
        let mut entries = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let p = format!("[{i}].");
            check_keys(
                file,
                e,
                &["regex", "operation", "algorithm_key", "op_config"],
                &p,
            )?;
            let regex = e
                .get("regex")
                .and_then(Value::as_str)
                .unwrap_or(".*")
                .to_string();
            Regex::new(&regex).map_err(|err| invalid(format!("recipe {file}: {p}regex: {err}")))?;
            let operation = e
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string();
            let algorithm = e
                .get("algorithm_key")
                .and_then(Value::as_str)
                .unwrap_or("min_max_uniform_quantize");
            if !matches!(
                algorithm,
                "min_max_uniform_quantize" | "float_casting" | "no_quantize"
            ) {
                return Err(invalid(format!(
                    "recipe {file}: {p}algorithm_key = {algorithm:?} is not supported"
                )));
            }
            if let Some(c) = e.get("op_config") {
                let q = format!("{p}op_config.");
                check_keys(
                    file,
                    c,
                    &[
                        "weight_tensor_config",
                        "activation_tensor_config",
                        "compute_precision",
                        "explicit_dequantize",
                        "skip_checks",
                    ],
                    &q,
                )?;
                for k in ["weight_tensor_config", "activation_tensor_config"] {
                    if let Some(t) = c.get(k).filter(|t| !t.is_null()) {
                        check_tensor_config(file, t, &format!("{q}{k}."))?;
                    }
                }
            }
            entries.push(Entry {
                regex,
                operation,
                no_quantize: algorithm == "no_quantize",
            });
        }
        Ok(Recipe { entries })
    }

    /// Read and parse a recipe file.
    pub fn from_file(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Recipe::parse(&text, &path.display().to_string())
    }
}

/// Whether `name` names the op `op` ("*" matches every op).
fn op_matches(pattern: &str, op: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(op)
}

impl KeepFloat {
    /// The node indices of `sg` to keep in float.
    pub(crate) fn resolve(&self, sg: &Subgraph) -> Result<HashSet<usize>> {
        let mut keep = HashSet::new();
        for &n in &self.nodes {
            if n >= sg.nodes.len() {
                return Err(invalid(format!(
                    "--keep-float node {n}: the model has {} nodes",
                    sg.nodes.len()
                )));
            }
            keep.insert(n);
        }
        let names = self
            .names
            .iter()
            .map(|r| Regex::new(r).map_err(|e| invalid(format!("--keep-float regex {r:?}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let recipe: Vec<(Regex, &Entry)> = self
            .recipe
            .iter()
            .flat_map(|r| &r.entries)
            .filter_map(|e| Regex::new(&e.regex).ok().map(|r| (r, e)))
            .collect();
        for (n, node) in sg.nodes.iter().enumerate() {
            let op = node.op.name();
            let out_names: Vec<&str> = node
                .outputs
                .iter()
                .map(|&o| sg.tensors[o].name.as_str())
                .collect();
            let named = |r: &Regex| out_names.iter().any(|s| r.is_match(s));
            if self.ops.iter().any(|o| op_matches(o, op)) || names.iter().any(named) {
                keep.insert(n);
            }
            let last = recipe
                .iter()
                .rev()
                .find(|(r, e)| op_matches(&e.operation, op) && named(r));
            if last.is_some_and(|(_, e)| e.no_quantize) {
                keep.insert(n);
            }
        }
        Ok(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_keys_outside_the_subset_are_named() {
        let ok = r#"[{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
            "op_config": {"weight_tensor_config": {"num_bits": 8, "symmetric": true,
            "granularity": "CHANNELWISE", "dtype": "INT"}, "compute_precision": "INTEGER"}},
            {"regex": "logits", "operation": "FULLY_CONNECTED", "algorithm_key": "no_quantize"}]"#;
        assert!(Recipe::parse(ok, "r.json").is_ok());
        let bad = r#"[{"regex": ".*", "op_config": {"weight_tensor_config": {"bits": 8}}}]"#;
        let e = Recipe::parse(bad, "r.json").unwrap_err().to_string();
        assert!(e.contains("weight_tensor_config.bits"), "{e}");
    }
}
