//! Selective precision: find a small set of nodes to keep in fp32 so that an fp16
//! run meets the thresholds on every output.
//!
//! Nodes are ranked by the error each adds on its own (local mode). The search
//! takes the shortest prefix of that ranking that passes (doubling, then bisection),
//! then drops every chosen node the outputs do not need.

use super::{evaluate, Reference, ValidateOptions, Validation};
use crate::error::Result;
use crate::graph::Tensor;
use crate::interpreter::Model;
use serde::Serialize;

/// The outcome of the fp32-node search.
#[derive(Debug, Clone, Serialize)]
pub struct MixedSearch {
    /// Nodes to keep in fp32, ascending (pass them as `--fp32-nodes` or the
    /// delegate option `fp32_nodes`).
    pub fp32_nodes: Vec<usize>,
    /// Whether every output passes with them.
    pub pass: bool,
    /// Whether the run passed before the search (with the nodes given up front).
    pub baseline_pass: bool,
    /// GPU runs the search took.
    pub evaluations: usize,
    /// Candidates in ranking order with their local `max_rel_error`.
    pub ranking: Vec<(usize, f64)>,
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
    for row in &first.layers {
        let Some(local) = &row.local else { continue };
        if base.contains(&row.node) || local.max_rel_error <= 0.0 {
            continue;
        }
        match ranking.iter_mut().find(|(n, _)| *n == row.node) {
            Some((_, e)) => *e = e.max(local.max_rel_error),
            None => ranking.push((row.node, local.max_rel_error)),
        }
    }
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1));
    let order: Vec<usize> = ranking.iter().map(|r| r.0).collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut pass = baseline_pass;
    if !baseline_pass && !order.is_empty() {
        let mut passes = |k: usize| -> Result<bool> {
            evaluations += 1;
            Ok(with(&order[..k], false)?.pass())
        };
        let (mut lo, mut hi) = (0, None);
        let mut k = 1;
        loop {
            let k_try = k.min(order.len());
            if passes(k_try)? {
                hi = Some(k_try);
                break;
            }
            lo = k_try;
            if k_try == order.len() {
                break;
            }
            k *= 2;
        }
        if let Some(mut h) = hi {
            while h - lo > 1 {
                let mid = (lo + h) / 2;
                if passes(mid)? {
                    h = mid;
                } else {
                    lo = mid;
                }
            }
            chosen = order[..h].to_vec();
            pass = true;
            for &node in order[..h].iter().rev().take(24) {
                let without: Vec<usize> = chosen.iter().copied().filter(|&c| c != node).collect();
                if without.len() < chosen.len() && passes_with(&mut evaluations, &with, &without)? {
                    chosen = without;
                }
            }
        } else {
            chosen = order.clone();
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
    Ok((
        MixedSearch {
            fp32_nodes,
            pass: pass && last.pass(),
            baseline_pass,
            evaluations,
            ranking,
        },
        last,
    ))
}

fn passes_with(
    evaluations: &mut usize,
    with: &dyn Fn(&[usize], bool) -> Result<Validation>,
    nodes: &[usize],
) -> Result<bool> {
    *evaluations += 1;
    Ok(with(nodes, false)?.pass())
}
