//! AI Edge Quantizer recipes: a JSON list of entries, each choosing how the ops
//! it matches (by op type and by a regex over their output tensor names) are
//! quantized. Later entries override earlier ones; an op no entry matches keeps
//! the `--mode` default (float when there is none).
//!
//! An entry's `op_config` gives the mode, as the AI Edge Quantizer reads it:
//! - `activation_tensor_config` (int8) with `compute_precision` `INTEGER`: static
//!   (full integer, calibrated activations);
//! - no activation config, `compute_precision` `INTEGER`, `explicit_dequantize`
//!   false: dynamic (quantized weights read by LiteRT's hybrid kernels);
//! - `compute_precision` `FLOAT` with `explicit_dequantize` true: weight-only
//!   (quantized weights behind DEQUANTIZE).
//!
//! `algorithm_key` `float_casting` gives float16 weights behind DEQUANTIZE, and
//! `no_quantize` keeps the ops float. What LiteRT's kernels cannot run is refused
//! with the op named (an entry for every op, `*`, passes over the ops it cannot
//! apply to instead, as the AI Edge Quantizer does).

use super::invalid;
use super::weights::{channel_axis, weight_slot, Granularity, WeightPlan, WeightSpec};
use crate::error::{Error, Result};
use crate::graph::op::Activation;
use crate::graph::{Node, Op, Subgraph};
use regex::Regex;
use serde_json::Value;
use std::path::Path;

/// What one node becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Plan {
    /// Left float.
    Float,
    /// `--mode fp16`: every float32 constant the node reads becomes float16.
    Fp16All,
    /// Its weights converted; activations stay float.
    Weights(WeightPlan),
    /// Full integer with int8 activations (zero point 0 when `symmetric`).
    Static {
        /// How the weight input is quantized.
        weights: WeightSpec,
        /// Symmetric activations (zero point 0).
        symmetric: bool,
    },
}

impl Plan {
    /// The default static plan: asymmetric int8 activations, symmetric int8
    /// per-channel weights.
    pub(crate) const INT8: Plan = Plan::Static {
        weights: WeightSpec::INT8,
        symmetric: false,
    };

    /// A short description for reports.
    pub(crate) fn describe(&self) -> String {
        let w = |s: &WeightSpec| {
            let g = match s.granularity {
                Granularity::Tensor => "per tensor".to_string(),
                Granularity::Channel => "per channel".to_string(),
                Granularity::Block(n) => format!("in blocks of {n}"),
            };
            format!("int{} weights {g}", s.bits)
        };
        match self {
            Plan::Float => "kept float".into(),
            Plan::Fp16All => "float16 constants".into(),
            Plan::Weights(WeightPlan::Fp16) => "weight-only: float16 weights".into(),
            Plan::Weights(WeightPlan::WeightOnly(s)) => format!("weight-only: {}", w(s)),
            Plan::Weights(WeightPlan::Dynamic(s)) => format!("dynamic: {}", w(s)),
            Plan::Static { weights, .. } => format!("static int8: {}", w(weights)),
        }
    }
}

/// One entry of a recipe.
#[derive(Debug, Clone)]
struct Entry {
    regex: Regex,
    /// A TFLite op name, or `*`.
    operation: String,
    plan: Plan,
}

/// The subset of the AI Edge Quantizer recipe format this crate applies (see
/// the module documentation and docs/cli.md): a JSON list of entries with
/// `regex`, `operation`, `algorithm_key` and `op_config`. Any other key, and any
/// value outside the subset, is an error naming it.
#[derive(Debug, Clone, Default)]
pub struct Recipe {
    file: String,
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

/// One `*_tensor_config`.
struct TensorConfig {
    bits: u64,
    symmetric: bool,
    granularity: Granularity,
    float: bool,
}

fn tensor_config(file: &str, v: &Value, prefix: &str, weights: bool) -> Result<TensorConfig> {
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
    let bad = |k: &str, val: &Value, why: &str| {
        invalid(format!(
            "recipe {file}: {prefix}{k} = {val} is not supported{why}"
        ))
    };
    let float = match v.get("dtype") {
        None => false,
        Some(d) => match d.as_str() {
            Some("INT") => false,
            Some("FLOAT") => true,
            _ => return Err(bad("dtype", d, " (INT or FLOAT)")),
        },
    };
    let bits = match v.get("num_bits") {
        None if float => 32,
        None => 8,
        Some(b) => b
            .as_u64()
            .ok_or_else(|| bad("num_bits", b, " (a number of bits)"))?,
    };
    match (float, weights, bits) {
        (true, _, 16 | 32) | (false, true, 4 | 8) | (false, false, 8) => {}
        (false, false, 16) => {
            return Err(bad(
                "num_bits",
                &Value::from(bits),
                ": 16-bit activations (LiteRT's int16x8 scheme) are not selected by recipes",
            ))
        }
        (true, ..) => {
            return Err(bad(
                "num_bits",
                &Value::from(bits),
                " (FLOAT: 16 or 32 bits)",
            ))
        }
        (false, true, _) => {
            return Err(bad(
                "num_bits",
                &Value::from(bits),
                " (INT weights: 4 or 8 bits)",
            ))
        }
        (false, false, _) => {
            return Err(bad(
                "num_bits",
                &Value::from(bits),
                " (INT activations: 8 bits)",
            ))
        }
    }
    let symmetric = match v.get("symmetric") {
        None => true,
        Some(s) => s
            .as_bool()
            .ok_or_else(|| bad("symmetric", s, " (true or false)"))?,
    };
    let mut granularity = match v.get("granularity") {
        None => Granularity::Tensor,
        Some(g) => match g.as_str() {
            Some("TENSORWISE") => Granularity::Tensor,
            Some("CHANNELWISE") if weights => Granularity::Channel,
            Some("BLOCKWISE_32") if weights => Granularity::Block(32),
            Some("BLOCKWISE_64") if weights => Granularity::Block(64),
            Some("BLOCKWISE_128") if weights => Granularity::Block(128),
            Some("BLOCKWISE_256") if weights => Granularity::Block(256),
            _ if weights => {
                return Err(bad(
                    "granularity",
                    g,
                    " (TENSORWISE, CHANNELWISE or BLOCKWISE_32/64/128/256)",
                ))
            }
            _ => return Err(bad("granularity", g, " (activations: TENSORWISE)")),
        },
    };
    if let Some(b) = v.get("block_size") {
        match b.as_u64() {
            Some(0) => {}
            Some(n @ (32 | 64 | 128 | 256)) if weights => {
                granularity = Granularity::Block(n as usize)
            }
            _ => {
                return Err(bad(
                    "block_size",
                    b,
                    " (0, or 32, 64, 128, 256 for weights)",
                ))
            }
        }
    }
    Ok(TensorConfig {
        bits,
        symmetric,
        granularity,
        float,
    })
}

/// The plan an entry's `algorithm_key` and `op_config` describe.
fn entry_plan(file: &str, algorithm: &str, config: Option<&Value>, p: &str) -> Result<Plan> {
    let q = format!("{p}op_config.");
    if let Some(c) = config {
        check_keys(
            file,
            c,
            &[
                "weight_tensor_config",
                "activation_tensor_config",
                "compute_precision",
                "explicit_dequantize",
                "skip_checks",
                "min_weight_elements",
            ],
            &q,
        )?;
    }
    let get = |k: &str| config.and_then(|c| c.get(k)).filter(|v| !v.is_null());
    let err = |what: String| invalid(format!("recipe {file}: {p}{what}"));
    let weight = get("weight_tensor_config")
        .map(|w| tensor_config(file, w, &format!("{q}weight_tensor_config."), true))
        .transpose()?;
    let activation = get("activation_tensor_config")
        .map(|a| tensor_config(file, a, &format!("{q}activation_tensor_config."), false))
        .transpose()?
        .filter(|a| !a.float);
    let flag = |k: &str| -> Result<bool> {
        match get(k) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| err(format!("op_config.{k} = {v} is not a boolean"))),
        }
    };
    // skip_checks has no effect: what LiteRT cannot run is always refused.
    flag("skip_checks")?;
    let explicit = flag("explicit_dequantize")?;
    let integer = match get("compute_precision") {
        None => false,
        Some(v) => match v.as_str() {
            Some("INTEGER") => true,
            Some("FLOAT") => false,
            _ => {
                return Err(err(format!(
                    "op_config.compute_precision = {v} is not supported (INTEGER or FLOAT)"
                )))
            }
        },
    };
    let min_elements = match get("min_weight_elements") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            err(format!(
                "op_config.min_weight_elements = {v} is not a count"
            ))
        })? as usize,
    };
    match algorithm {
        "no_quantize" => return Ok(Plan::Float),
        "float_casting" => {
            return match weight {
                Some(w) if !(w.float && w.bits == 16) => Err(err(
                    "float_casting takes weight_tensor_config dtype FLOAT, num_bits 16".into(),
                )),
                _ => Ok(Plan::Weights(WeightPlan::Fp16)),
            }
        }
        _ => {}
    }
    let w = match weight {
        Some(w) if w.float => {
            return Err(err(
                "float weights are algorithm_key float_casting, not min_max_uniform_quantize"
                    .into(),
            ))
        }
        Some(w) => w,
        None => TensorConfig {
            bits: 8,
            symmetric: true,
            granularity: Granularity::Channel,
            float: false,
        },
    };
    let spec = WeightSpec {
        bits: w.bits as u8,
        symmetric: w.symmetric,
        granularity: w.granularity,
        min_elements,
    };
    match (activation, integer, explicit) {
        (Some(a), true, _) => Ok(Plan::Static {
            weights: spec,
            symmetric: a.symmetric,
        }),
        (Some(_), false, _) => Err(err(
            "quantized activations need compute_precision INTEGER (static)".into(),
        )),
        (None, true, false) => Ok(Plan::Weights(WeightPlan::Dynamic(spec))),
        (None, false, true) => Ok(Plan::Weights(WeightPlan::WeightOnly(spec))),
        (None, true, true) => Err(err(
            "compute_precision INTEGER with explicit_dequantize true is no mode LiteRT runs (dynamic: explicit_dequantize false)".into(),
        )),
        (None, false, false) => Err(err(
            "compute_precision FLOAT needs explicit_dequantize true (weight-only); dynamic is compute_precision INTEGER".into(),
        )),
    }
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
            let string = |k: &str, default: &'static str| -> Result<String> {
                match e.get(k) {
                    None => Ok(default.to_string()),
                    Some(v) => v.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(format!("recipe {file}: {p}{k} = {v} is not a string"))
                    }),
                }
            };
            let regex = string("regex", ".*")?;
            let regex = Regex::new(&regex)
                .map_err(|err| invalid(format!("recipe {file}: {p}regex: {err}")))?;
            let operation = string("operation", "*")?.to_ascii_uppercase();
            if operation != "*" && crate::model::builtin_code(&operation).is_none() {
                return Err(invalid(format!(
                    "recipe {file}: {p}operation = {operation:?} is not a TFLite op name or \"*\""
                )));
            }
            let algorithm = string("algorithm_key", "min_max_uniform_quantize")?;
            if !matches!(
                algorithm.as_str(),
                "min_max_uniform_quantize" | "float_casting" | "no_quantize"
            ) {
                return Err(invalid(format!(
                    "recipe {file}: {p}algorithm_key = {algorithm:?} is not supported (min_max_uniform_quantize, float_casting, no_quantize)"
                )));
            }
            let plan = entry_plan(file, &algorithm, e.get("op_config"), &p)?;
            entries.push(Entry {
                regex,
                operation,
                plan,
            });
        }
        Ok(Recipe {
            file: file.to_string(),
            entries,
        })
    }

    /// Read and parse a recipe file.
    pub fn from_file(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Recipe::parse(&text, &path.display().to_string())
    }

    /// Whether an entry asks for static quantization (which needs calibration).
    pub fn needs_calibration(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.plan, Plan::Static { .. }))
    }

    /// The plan of every node of `sg`: the last matching entry's (an entry for
    /// `*` is passed over where its plan cannot apply; a named op it cannot
    /// apply to is an error), None for the nodes no entry applies to.
    pub(crate) fn resolve(&self, sg: &Subgraph) -> Result<Vec<Option<Plan>>> {
        let mut plans = Vec::with_capacity(sg.nodes.len());
        for (n, node) in sg.nodes.iter().enumerate() {
            let op = node.op.name();
            let outputs: Vec<&str> = node
                .outputs
                .iter()
                .map(|&o| sg.tensors[o].name.as_str())
                .collect();
            let mut plan = None;
            for (i, e) in self.entries.iter().enumerate() {
                let wildcard = e.operation == "*";
                if !(wildcard || e.operation == op) || !outputs.iter().any(|s| e.regex.is_match(s))
                {
                    continue;
                }
                match support(&e.plan, node, sg, wildcard) {
                    Ok(()) => plan = Some(e.plan),
                    Err(_) if wildcard => {}
                    Err(why) => {
                        return Err(Error::node(
                            n,
                            op,
                            format!(
                                "recipe {}: entry [{i}] ({}): {why}",
                                self.file,
                                e.plan.describe()
                            ),
                        ))
                    }
                }
            }
            plans.push(plan);
        }
        Ok(plans)
    }
}

/// Whether LiteRT's kernels run `node` quantized as `plan` says; Err says why
/// not. `wildcard`: for an entry naming every op, an op without an int8 kernel
/// is accepted for static quantization (the int8 pass leaves it float and
/// reports it).
/// Why a recipe entry cannot apply to a node: the LiteRT kernel limit it meets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
struct Inapplicable(String);

impl From<String> for Inapplicable {
    fn from(why: String) -> Self {
        Inapplicable(why)
    }
}

impl From<&str> for Inapplicable {
    fn from(why: &str) -> Self {
        Inapplicable(why.to_string())
    }
}

fn support(
    plan: &Plan,
    node: &Node,
    sg: &Subgraph,
    wildcard: bool,
) -> std::result::Result<(), Inapplicable> {
    let op = &node.op;
    let name = op.name();
    let weight = weight_slot(op)
        .and_then(|(k, _)| node.input(k))
        .map(|t| &sg.tensors[t]);
    let no_weights = || Inapplicable(format!("{name} has no weight input to quantize"));
    let weight_bits =
        |s: &WeightSpec, allowed: &[&str], kernel: &str| -> Result<(), Inapplicable> {
            if s.bits == 4 && !allowed.contains(&name) {
                return Err(format!(
                    "LiteRT's {kernel} {name} kernel takes int8 weights, not int4 (int4: {})",
                    allowed.join(", ")
                )
                .into());
            }
            Ok(())
        };
    match plan {
        Plan::Float | Plan::Fp16All => Ok(()),
        Plan::Weights(WeightPlan::Fp16) => weight.map(|_| ()).ok_or_else(no_weights),
        Plan::Weights(WeightPlan::WeightOnly(s)) => {
            weight.ok_or_else(no_weights)?;
            if let Granularity::Block(_) = s.granularity {
                return Err("blockwise weights run only in LiteRT's hybrid FULLY_CONNECTED kernel (dynamic, 4-bit), not behind DEQUANTIZE".into());
            }
            if s.granularity == Granularity::Channel
                && channel_axis(op, weight.map_or(0, |w| w.shape.len())).is_none()
            {
                return Err(format!("{name}'s weight has no output-channel axis").into());
            }
            Ok(())
        }
        Plan::Weights(WeightPlan::Dynamic(s)) => {
            let w = weight.ok_or_else(no_weights)?;
            if !s.symmetric {
                return Err(
                    "LiteRT's hybrid kernels take symmetric weights (symmetric: true)".into(),
                );
            }
            weight_bits(s, &["FULLY_CONNECTED", "CONV_2D"], "hybrid")?;
            match (s.granularity, op) {
                (Granularity::Channel, Op::BatchMatMul { .. }) => {
                    Err("BATCH_MATMUL takes per-tensor weights in dynamic mode (TENSORWISE)".into())
                }
                // Its per-channel kernel would read a scale per channel from one.
                (Granularity::Tensor, Op::DepthwiseConv2D(_)) => Err(
                    "LiteRT's hybrid DEPTHWISE_CONV_2D kernel takes per-channel weights (CHANNELWISE)"
                        .into(),
                ),
                (Granularity::Block(size), Op::FullyConnected(fc)) => {
                    blockwise_fc(s.bits, size, fc.activation, &w.shape)
                }
                (Granularity::Block(_), _) => Err(format!(
                    "blockwise weights run only in LiteRT's hybrid FULLY_CONNECTED kernel, not {name}"
                ).into()),
                _ => Ok(()),
            }
        }
        Plan::Static { weights: s, .. } => {
            if super::scheme::Scheme::Int8.rule(op).is_none() {
                return if wildcard {
                    Ok(())
                } else {
                    Err(format!("{name} has no int8 kernel here").into())
                };
            }
            if weight.is_none() {
                return Ok(());
            }
            if !s.symmetric {
                return Err(
                    "LiteRT's int8 kernels take symmetric weights (symmetric: true)".into(),
                );
            }
            if let Granularity::Block(_) = s.granularity {
                return Err("blockwise weights run only in LiteRT's hybrid FULLY_CONNECTED kernel (dynamic), not with int8 activations".into());
            }
            weight_bits(
                s,
                &["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"],
                "int8",
            )
        }
    }
}

/// Whether LiteRT runs a blockwise FULLY_CONNECTED with weights of `shape`:
/// 4-bit, the depth a multiple of the block size, at least 4 output units (its
/// optimized kernel's tile; with fewer it would read the blocks as per-channel
/// scales), and no fused activation (the builtin kernel leaves it out).
fn blockwise_fc(
    bits: u8,
    size: usize,
    act: Activation,
    shape: &[usize],
) -> std::result::Result<(), Inapplicable> {
    if bits != 4 {
        return Err("blockwise weights are 4-bit in LiteRT (num_bits 4)".into());
    }
    let [units, depth] = shape[..] else {
        return Err(format!("blockwise weights must be 2-D, not {shape:?}").into());
    };
    if depth % size != 0 {
        return Err(format!("the depth {depth} is not a multiple of the block size {size}").into());
    }
    if units < 4 {
        return Err(format!(
            "LiteRT's blockwise kernel needs at least 4 output units, not {units}"
        )
        .into());
    }
    if act != Activation::None {
        return Err(format!(
            "LiteRT's builtin blockwise kernel leaves out the fused {act:?} activation"
        )
        .into());
    }
    Ok(())
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
        let r = Recipe::parse(ok, "r.json").unwrap();
        assert!(matches!(
            r.entries[0].plan,
            Plan::Weights(WeightPlan::Dynamic(WeightSpec {
                bits: 8,
                granularity: Granularity::Channel,
                ..
            }))
        ));
        assert_eq!(r.entries[1].plan, Plan::Float);
        let bad = r#"[{"regex": ".*", "op_config": {"weight_tensor_config": {"bits": 8}}}]"#;
        let e = Recipe::parse(bad, "r.json").unwrap_err().to_string();
        assert!(e.contains("weight_tensor_config.bits"), "{e}");
    }

    #[test]
    fn op_config_gives_the_mode() {
        let one = |config: &str| {
            Recipe::parse(&format!(r#"[{{"op_config": {config}}}]"#), "r.json")
                .map(|r| r.entries[0].plan)
        };
        let w4 = r#""weight_tensor_config": {"num_bits": 4, "granularity": "BLOCKWISE_32"}"#;
        assert!(matches!(
            one(&format!(r#"{{{w4}, "compute_precision": "INTEGER"}}"#)).unwrap(),
            Plan::Weights(WeightPlan::Dynamic(WeightSpec {
                bits: 4,
                granularity: Granularity::Block(32),
                ..
            }))
        ));
        assert!(matches!(
            one(r#"{"weight_tensor_config": {"num_bits": 8, "symmetric": false, "block_size": 0},
                "compute_precision": "FLOAT", "explicit_dequantize": true, "min_weight_elements": 9}"#)
            .unwrap(),
            Plan::Weights(WeightPlan::WeightOnly(WeightSpec {
                bits: 8,
                symmetric: false,
                granularity: Granularity::Tensor,
                min_elements: 9,
            }))
        ));
        assert!(matches!(
            one(
                r#"{"activation_tensor_config": {"num_bits": 8, "symmetric": true},
                "weight_tensor_config": {"num_bits": 4, "granularity": "CHANNELWISE"},
                "compute_precision": "INTEGER"}"#
            )
            .unwrap(),
            Plan::Static {
                symmetric: true,
                weights: WeightSpec { bits: 4, .. }
            }
        ));
        for (config, says) in [
            (
                r#"{"activation_tensor_config": {"num_bits": 16}, "compute_precision": "INTEGER"}"#,
                "int16x8",
            ),
            (
                r#"{"weight_tensor_config": {"num_bits": 2}, "compute_precision": "INTEGER"}"#,
                "num_bits",
            ),
            (
                r#"{"weight_tensor_config": {"num_bits": 8}}"#,
                "explicit_dequantize true",
            ),
            (
                r#"{"weight_tensor_config": {"granularity": "BLOCKWISE_48"}}"#,
                "granularity",
            ),
            (r#"{"compute_precision": "DYNAMIC"}"#, "compute_precision"),
        ] {
            let e = one(config).unwrap_err().to_string();
            assert!(e.contains(says), "{config}: {e}");
        }
        let e = Recipe::parse(r#"[{"operation": "CONV2D"}]"#, "r.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("CONV2D"), "{e}");
    }
}
