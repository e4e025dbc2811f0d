//! Selective precision: find a small set of nodes to keep in fp32 so that an fp16
//! run meets the thresholds on every output, in a bounded number of GPU runs.
//!
//! One per-layer run ranks the nodes: those whose values leave the fp16 range
//! first (overflow), then by the error each adds on its own (local mode). The
//! search takes the shortest prefix of that ranking that passes (doubling, then
//! bisection), drops chosen nodes the outputs do not need while runs are left, and
//! stops after [`MAX_EVALUATIONS`] GPU runs. When no prefix passes, or the one that
//! does keeps most of the arithmetic in fp32, it says the error is spread through
//! depth instead of searching on.

use super::{evaluate, LayerRow, Reference, ValidateOptions, Validation};
use crate::delegate::partition::node_cost;
use crate::error::Result;
use crate::graph::Tensor;
use crate::interpreter::{Interpreter, Model};
use serde::Serialize;

/// The most GPU runs one search takes, the first per-layer run and the final
/// check included.
pub const MAX_EVALUATIONS: usize = 20;

/// The fp32 share of the FLOPs above which a passing set is reported as error
/// spread through depth rather than concentrated in a few layers.
const SPREAD_FLOP_SHARE: f64 = 0.5;

/// The largest finite f16 value.
const F16_MAX: f64 = 65504.0;

/// A node the search kept in fp32, and why it was a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    /// Node index of the prepared graph.
    pub node: usize,
    /// Its op, as `inspect` prints it.
    pub op: String,
    /// Its position in execution order.
    pub depth: usize,
    /// "overflow" (its values leave the fp16 range), "cancellation" (a sum or
    /// difference that loses its leading digits) or "local error".
    pub reason: &'static str,
    /// The error the node adds on its own (`max_rel_error`, local mode).
    pub local_max_rel_error: f64,
}

/// The outcome of the fp32-node search.
#[derive(Debug, Clone, Serialize)]
pub struct MixedSearch {
    /// Nodes to keep in fp32, ascending (pass them as `--fp32-nodes`, a precision
    /// plan, or the delegate option `fp32_nodes`).
    pub fp32_nodes: Vec<usize>,
    /// Whether every output passes with them.
    pub pass: bool,
    /// Whether the run passed before the search (with the nodes given up front).
    pub baseline_pass: bool,
    /// GPU runs the search took (at most [`MAX_EVALUATIONS`]).
    pub evaluations: usize,
    /// The share of the model's FLOPs the fp32 nodes cost (0 to 1).
    pub fp32_flop_share: f64,
    /// Set when no small set helps: no candidate prefix passes, or the passing one
    /// keeps more than half the FLOPs in fp32.
    pub spread_through_depth: bool,
    /// One line saying what the search found.
    pub verdict: String,
    /// The nodes the search added, in execution order, with the reason.
    pub promoted: Vec<Promotion>,
    /// Candidates in ranking order with their local `max_rel_error`.
    pub ranking: Vec<(usize, f64)>,
}

impl MixedSearch {
    /// The search's summary as a precision plan records it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "evaluations": self.evaluations,
            "fp32_flop_share": self.fp32_flop_share,
            "spread_through_depth": self.spread_through_depth,
            "verdict": self.verdict,
            "promoted": self.promoted,
        })
    }
}

/// Why a layer is a candidate, from its local and propagated metrics.
fn reason(row: &LayerRow) -> &'static str {
    let leaves_range = |m: &super::Metrics| {
        m.nonfinite_test > m.nonfinite_reference
            || (m.max_rel_error > 0.0 && m.max_abs_error / m.max_rel_error > F16_MAX)
    };
    if row.local.as_ref().is_some_and(leaves_range)
        || row.propagated.as_ref().is_some_and(leaves_range)
    {
        "overflow"
    } else if matches!(row.op.as_str(), "ADD" | "SUB" | "SUM" | "MEAN") {
        "cancellation"
    } else {
        "local error"
    }
}

/// Search for fp32 nodes, starting from `opts.partitions.fp32_nodes`; returns the
/// search and the validation of the final choice (per layer when `opts.per_layer`).
pub fn auto_mixed(
    model: &Model,
    inputs: &[Vec<Tensor>],
    opts: &ValidateOptions,
) -> Result<(MixedSearch, Validation)> {
    let reference = Reference::compute(model, inputs, true)?;
    let base = opts.partitions.fp32_nodes.clone();
    let with = |extra: &[usize], per_layer: bool| -> Result<Validation> {
        let mut o = opts.clone();
        o.per_layer = per_layer;
        o.partitions.fp32_nodes = base.iter().chain(extra).copied().collect();
        o.partitions.fp32_nodes.sort_unstable();
        o.partitions.fp32_nodes.dedup();
        evaluate(model, inputs, &reference, &o)
    };
    let first = with(&[], true)?;
    let mut evaluations = 1;
    let baseline_pass = first.pass();
    let mut ranking: Vec<(usize, f64)> = Vec::new();
    let mut rows: Vec<(usize, &'static str, f64, usize, String)> = Vec::new();
    for row in &first.layers {
        let Some(local) = &row.local else { continue };
        if base.contains(&row.node) || local.max_rel_error <= 0.0 {
            continue;
        }
        let why = reason(row);
        match rows.iter_mut().find(|r| r.0 == row.node) {
            Some(r) => {
                r.2 = r.2.max(local.max_rel_error);
                if why == "overflow" {
                    r.1 = why;
                }
            }
            None => rows.push((
                row.node,
                why,
                local.max_rel_error,
                row.depth,
                row.op.clone(),
            )),
        }
    }
    rows.sort_by(|a, b| {
        (b.1 == "overflow")
            .cmp(&(a.1 == "overflow"))
            .then(b.2.total_cmp(&a.2))
    });
    ranking.extend(rows.iter().map(|r| (r.0, r.2)));
    let order: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut pass = baseline_pass;
    let mut exhausted = false;
    // The last run is kept for the final check.
    let budget = MAX_EVALUATIONS - 1;
    if !baseline_pass && !order.is_empty() {
        let passes = |k: &[usize], evaluations: &mut usize| -> Result<bool> {
            *evaluations += 1;
            Ok(with(k, false)?.pass())
        };
        let (mut lo, mut hi) = (0, None);
        let mut k = 1;
        while evaluations < budget {
            let k_try = k.min(order.len());
            if passes(&order[..k_try], &mut evaluations)? {
                hi = Some(k_try);
                break;
            }
            lo = k_try;
            if k_try == order.len() {
                exhausted = true;
                break;
            }
            k *= 2;
        }
        if let Some(mut h) = hi {
            while h - lo > 1 && evaluations < budget {
                let mid = (lo + h) / 2;
                if passes(&order[..mid], &mut evaluations)? {
                    h = mid;
                } else {
                    lo = mid;
                }
            }
            chosen = order[..h].to_vec();
            pass = true;
            for &node in order[..h].iter().rev() {
                if evaluations >= budget {
                    break;
                }
                let without: Vec<usize> = chosen.iter().copied().filter(|&c| c != node).collect();
                if passes(&without, &mut evaluations)? {
                    chosen = without;
                }
            }
        } else {
            chosen = order[..lo.max(1).min(order.len())].to_vec();
        }
    }
    let mut fp32_nodes: Vec<usize> = base.iter().chain(&chosen).copied().collect();
    fp32_nodes.sort_unstable();
    fp32_nodes.dedup();
    let last = if chosen.is_empty() && opts.per_layer {
        first
    } else {
        evaluations += 1;
        with(&chosen, opts.per_layer)?
    };
    let pass = pass && last.pass();
    let sg = Interpreter::new(model)?.graph().main().clone();
    let total = (0..sg.nodes.len())
        .map(|n| node_cost(&sg, n))
        .fold(0.0, |a, b| a + b);
    let kept = fp32_nodes
        .iter()
        .filter(|&&n| n < sg.nodes.len())
        .map(|&n| node_cost(&sg, n))
        .fold(0.0, |a, b| a + b);
    let fp32_flop_share = if total > 0.0 { kept / total } else { 0.0 };
    let spread_through_depth = !baseline_pass && (!pass || fp32_flop_share > SPREAD_FLOP_SHARE);
    let verdict = if baseline_pass {
        "the run passes without extra fp32 nodes".to_string()
    } else if pass && !spread_through_depth {
        format!(
            "{} node(s) in fp32 ({:.1}% of FLOPs) make every output pass",
            chosen.len(),
            100.0 * fp32_flop_share
        )
    } else if pass {
        format!(
            "the error is spread through depth: the passing set keeps {} node(s), {:.1}% of FLOPs, in fp32; run the model at fp32",
            chosen.len(),
            100.0 * fp32_flop_share
        )
    } else if exhausted {
        format!(
            "the error is spread through depth: even all {} ranked nodes in fp32 do not pass; run the model at fp32",
            order.len()
        )
    } else {
        format!(
            "no passing set within {MAX_EVALUATIONS} GPU runs; the error is spread through depth (the closest keeps {} node(s))",
            chosen.len()
        )
    };
    let mut promoted: Vec<Promotion> = rows
        .iter()
        .filter(|r| chosen.contains(&r.0))
        .map(|r| Promotion {
            node: r.0,
            op: r.4.clone(),
            depth: r.3,
            reason: r.1,
            local_max_rel_error: r.2,
        })
        .collect();
    promoted.sort_by_key(|p| p.depth);
    Ok((
        MixedSearch {
            fp32_nodes,
            pass,
            baseline_pass,
            evaluations,
            fp32_flop_share,
            spread_through_depth,
            verdict,
            promoted,
            ranking,
        },
        last,
    ))
}
