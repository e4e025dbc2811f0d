//! Selective precision: find a small set of nodes to keep in fp32 so that an fp16
//! run meets the thresholds on every output, in a bounded number of GPU runs, and
//! show what each set tried costs against what it buys.
//!
//! 1. One per-layer run finds the outputs that fail and each node's own (local)
//!    error. Only the nodes that feed a failing output, run on the GPU in fp16,
//!    are candidates; nodes that feed only passing outputs never are.
//! 2. The candidates are grouped into units: chains (one node, or a run of nodes
//!    each the only reader of the one before it, so that a value computed in fp32
//!    is not narrowed to f16 between them) and each failing output's own branch.
//!    Each failing output's branch, then the units whose nodes add the most error
//!    on their own, are promoted alone, one GPU run each (two thirds of the runs
//!    at most), to measure how much each reduces the failing outputs' excess over
//!    the thresholds (the gain).
//! 3. The units that help are promoted together in order of gain per FLOP (the
//!    chains first, the branches after them) until every output passes; then the
//!    most expensive nodes of the cheapest passing set are dropped one at a time
//!    while it still passes.
//!
//! Every set tried is a point of the trade-off table: its fp32 share of the
//! model's FLOPs against the worst output error, so a user can pick another point
//! than the cheapest passing one. The search stops after [`MAX_EVALUATIONS`] GPU
//! runs.

use super::candidates::{self, Unit, UnitKind};
use super::{evaluate, LayerRow, Reference, Thresholds, ValidateOptions, Validation};
use crate::delegate::partition::node_cost;
use crate::error::Result;
use crate::graph::{Subgraph, Tensor};
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

/// A unit helps when promoting it alone removes at least this share of the
/// failing outputs' excess over the thresholds (less is rounding noise).
const MIN_GAIN_SHARE: f64 = 0.01;

/// What an output with more non-finite values than the reference counts as in
/// the excess over the thresholds.
const NONFINITE_EXCESS: f64 = 1000.0;

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

/// A unit of candidate nodes and what promoting it alone did.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// "node", "chain" or "branch" (every candidate that feeds one failing
    /// output and no passing one).
    pub kind: UnitKind,
    /// Its nodes, ascending.
    pub nodes: Vec<usize>,
    /// Its FLOPs (as the partitioner estimates them).
    pub flops: f64,
    /// Its share of the model's FLOPs.
    pub flop_share: f64,
    /// Whether one of its nodes leaves the fp16 range.
    pub overflow: bool,
    /// The largest local `max_rel_error` of its nodes (null: none measured).
    pub local_max_rel_error: Option<f64>,
    /// The worst `max_rel_error` of the failing outputs with it alone in fp32
    /// (null: not measured within the budget).
    pub measured_max_rel_error: Option<f64>,
    /// How much promoting it alone reduces the failing outputs' excess over the
    /// thresholds (each output's error over its limit, summed; null: not measured).
    pub gain: Option<f64>,
    /// `gain` per GFLOP of the unit: the order of promotion.
    pub gain_per_gflop: Option<f64>,
}

/// One set of fp32 nodes the search ran, and how the outputs fared.
#[derive(Debug, Clone, Serialize)]
pub struct TradeoffPoint {
    /// Why it was run: "baseline" (the nodes given up front), "candidate" (one
    /// unit alone), "greedy" (the best units by gain per FLOP, together),
    /// "pruned" (a passing set less one node), "all candidates".
    pub set: &'static str,
    /// The nodes the search added, ascending.
    pub fp32_nodes: Vec<usize>,
    /// The fp32 share of the model's FLOPs, the nodes given up front included.
    pub fp32_flop_share: f64,
    /// The largest `max_rel_error` over all outputs.
    pub worst_max_rel_error: f64,
    /// The smallest cosine over all outputs.
    pub worst_cosine: f64,
    /// The failing outputs' excess over the thresholds (0: they meet them).
    pub excess: f64,
    /// Whether every output passes.
    pub pass: bool,
    /// Whether no other set tried is as cheap or cheaper with a smaller worst
    /// error (the sets a user would choose between).
    pub frontier: bool,
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
    /// Set when no set tried passes, or the cheapest passing one keeps more than
    /// half the FLOPs in fp32.
    pub spread_through_depth: bool,
    /// One line saying what the search found.
    pub verdict: String,
    /// The nodes the search added, in execution order, with the reason.
    pub promoted: Vec<Promotion>,
    /// Positions of the outputs that failed before the search.
    pub failing_outputs: Vec<usize>,
    /// The candidate units, in the order they were measured.
    pub candidates: Vec<Candidate>,
    /// Every set tried, by ascending fp32 FLOP share.
    pub tradeoff: Vec<TradeoffPoint>,
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
            "failing_outputs": self.failing_outputs,
            "tradeoff": self.tradeoff,
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

/// How far output `i` of `v` is over the thresholds: its error over the limit
/// as a ratio (0 when it meets them).
fn output_excess(v: &Validation, i: usize, t: &Thresholds) -> f64 {
    let Some(o) = v.outputs.get(i) else {
        return 0.0;
    };
    let m = &o.metrics;
    if m.nonfinite_test > m.nonfinite_reference {
        return NONFINITE_EXCESS;
    }
    let rel = m.max_rel_error / t.max_rel.max(1e-12);
    let cos = (1.0 - m.cosine) / (1.0 - t.min_cosine).max(1e-12);
    (rel.max(cos) - 1.0).max(0.0)
}

/// The search's state: the runs so far and their results.
struct Search<'a> {
    model: &'a Model,
    inputs: &'a [Vec<Tensor>],
    reference: &'a Reference,
    opts: &'a ValidateOptions,
    sg: Subgraph,
    cost: Vec<f64>,
    total: f64,
    failing: Vec<usize>,
    evaluations: usize,
    limit: usize,
    /// Each set tried (the added nodes, ascending) with its run.
    tried: Vec<(Vec<usize>, Validation)>,
    points: Vec<TradeoffPoint>,
}

impl Search<'_> {
    /// The fp32 nodes given up front with `extra`, ascending.
    fn with_base(&self, extra: &[usize]) -> Vec<usize> {
        let mut all: Vec<usize> = self.opts.partitions.fp32_nodes.clone();
        all.extend(extra);
        all.sort_unstable();
        all.dedup();
        all
    }

    fn flops(&self, nodes: &[usize]) -> f64 {
        nodes
            .iter()
            .filter_map(|&n| self.cost.get(n))
            .fold(0.0, |a, b| a + b)
    }

    fn share(&self, extra: &[usize]) -> f64 {
        if self.total > 0.0 {
            self.flops(&self.with_base(extra)) / self.total
        } else {
            0.0
        }
    }

    fn excess(&self, v: &Validation) -> f64 {
        let t = &self.opts.thresholds;
        self.failing.iter().map(|&i| output_excess(v, i, t)).sum()
    }

    /// Worst `max_rel_error` of the failing outputs.
    fn failing_error(&self, v: &Validation) -> f64 {
        self.failing
            .iter()
            .filter_map(|&i| v.outputs.get(i))
            .map(|o| o.metrics.max_rel_error)
            .fold(0.0, f64::max)
    }

    /// One GPU run with `extra` nodes in fp32 as well.
    fn run(&mut self, extra: &[usize], per_layer: bool) -> Result<Validation> {
        let mut o = self.opts.clone();
        o.per_layer = per_layer;
        o.partitions.fp32_nodes = self.with_base(extra);
        self.evaluations += 1;
        evaluate(self.model, self.inputs, self.reference, &o)
    }

    /// Record a run of `extra` as a point of the trade-off table.
    fn record(&mut self, set: &'static str, extra: Vec<usize>, v: Validation) -> usize {
        let mut v = v;
        v.layers.clear();
        self.points.push(TradeoffPoint {
            set,
            fp32_flop_share: self.share(&extra),
            worst_max_rel_error: v
                .outputs
                .iter()
                .map(|o| o.metrics.max_rel_error)
                .fold(0.0, f64::max),
            worst_cosine: v
                .outputs
                .iter()
                .map(|o| o.metrics.cosine)
                .fold(1.0, f64::min),
            excess: self.excess(&v),
            pass: v.pass(),
            frontier: false,
            fp32_nodes: extra.clone(),
        });
        self.tried.push((extra, v));
        self.tried.len() - 1
    }

    /// The run of `extra` (sorted), from an earlier try or a new GPU run while the
    /// budget lasts; `None` when it is spent.
    fn try_set(&mut self, set: &'static str, extra: &[usize]) -> Result<Option<usize>> {
        if let Some(i) = self.tried.iter().position(|(e, _)| e == extra) {
            return Ok(Some(i));
        }
        if self.evaluations >= self.limit {
            return Ok(None);
        }
        let v = self.run(extra, false)?;
        Ok(Some(self.record(set, extra.to_vec(), v)))
    }
}

/// Per node: the largest local error, whether it leaves the fp16 range, and its
/// depth, op and reason as the per-layer rows of `first` give them.
struct NodeFacts {
    local: Vec<Option<f64>>,
    overflow: Vec<bool>,
    rows: Vec<Option<(usize, String, &'static str)>>,
}

fn node_facts(first: &Validation, nodes: usize) -> NodeFacts {
    let mut f = NodeFacts {
        local: vec![None; nodes],
        overflow: vec![false; nodes],
        rows: vec![None; nodes],
    };
    for row in &first.layers {
        let n = row.node;
        if n >= nodes {
            continue;
        }
        if let Some(m) = &row.local {
            f.local[n] = Some(f.local[n].unwrap_or(0.0).max(m.max_rel_error));
        }
        let why = reason(row);
        f.overflow[n] |= why == "overflow";
        match &mut f.rows[n] {
            Some(r) if why == "overflow" => r.2 = why,
            Some(_) => {}
            slot => *slot = Some((row.depth, row.op.clone(), why)),
        }
    }
    f
}

/// Mark the points no other point beats on both fp32 share and worst error, and
/// order them by share.
fn frontier(points: &mut [TradeoffPoint]) {
    let snapshot: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.fp32_flop_share, p.worst_max_rel_error))
        .collect();
    for p in points.iter_mut() {
        let (s, e) = (p.fp32_flop_share, p.worst_max_rel_error);
        p.frontier = !snapshot
            .iter()
            .any(|&(qs, qe)| qs <= s && qe <= e && (qs < s || qe < e));
    }
    points.sort_by(|a, b| {
        a.fp32_flop_share
            .total_cmp(&b.fp32_flop_share)
            .then(a.worst_max_rel_error.total_cmp(&b.worst_max_rel_error))
    });
}

/// Search for fp32 nodes, starting from `opts.partitions.fp32_nodes`; returns the
/// search and the validation of the final choice (per layer when `opts.per_layer`).
pub fn auto_mixed(
    model: &Model,
    inputs: &[Vec<Tensor>],
    opts: &ValidateOptions,
) -> Result<(MixedSearch, Validation)> {
    let reference = Reference::compute(model, inputs, true)?;
    let sg = Interpreter::new(model)?.graph().main().clone();
    let cost: Vec<f64> = (0..sg.nodes.len()).map(|n| node_cost(&sg, n)).collect();
    let total = cost.iter().fold(0.0, |a, b| a + b);
    let mut s = Search {
        model,
        inputs,
        reference: &reference,
        opts,
        sg,
        cost,
        total,
        failing: Vec::new(),
        evaluations: 0,
        // The final per-layer run, when asked for, is kept out of the search.
        limit: MAX_EVALUATIONS - usize::from(opts.per_layer),
        tried: Vec::new(),
        points: Vec::new(),
    };
    let first = s.run(&[], true)?;
    let baseline_pass = first.pass();
    s.failing = first
        .outputs
        .iter()
        .filter(|o| !o.failures.is_empty())
        .map(|o| o.index)
        .collect();
    let facts = node_facts(&first, s.sg.nodes.len());
    let base_excess = s.excess(&first);
    let base_error = s.failing_error(&first);
    s.record("baseline", Vec::new(), first.clone());

    // Candidates: nodes on the GPU in fp16 that feed a failing output.
    let nn = s.sg.nodes.len();
    let mut eligible = vec![false; nn];
    for part in first
        .plan
        .iter()
        .filter(|p| p.device == "gpu" && p.precision == "fp16")
    {
        for &n in part.nodes.iter().filter(|&&n| n < nn) {
            eligible[n] = true;
        }
    }
    for n in opts
        .partitions
        .fp32_nodes
        .iter()
        .chain(first.promoted_fp32_nodes.iter().map(|p| &p.node))
    {
        if let Some(e) = eligible.get_mut(*n) {
            *e = false;
        }
    }
    let tensors_of = |outputs: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
        outputs
            .filter_map(|i| s.sg.outputs.get(i).copied())
            .collect()
    };
    let failing_t = tensors_of(&mut s.failing.iter().copied());
    let passing_t = tensors_of(&mut (0..s.sg.outputs.len()).filter(|i| !s.failing.contains(i)));
    let mut units: Vec<Unit> = if baseline_pass {
        Vec::new()
    } else {
        candidates::units(
            &s.sg,
            &failing_t,
            &passing_t,
            &eligible,
            &facts.local,
            &facts.overflow,
        )
    };
    // Each failing output's own branch first (a point a user may want in the
    // table), then the units whose nodes leave the fp16 range or add the most
    // error on their own, the cheaper first among equals.
    units.sort_by(|a, b| {
        (b.kind == UnitKind::Branch)
            .cmp(&(a.kind == UnitKind::Branch))
            .then(b.overflow.cmp(&a.overflow))
            .then(b.prior.unwrap_or(-1.0).total_cmp(&a.prior.unwrap_or(-1.0)))
            .then(s.flops(&a.nodes).total_cmp(&s.flops(&b.nodes)))
    });

    // Measure units alone with two thirds of the runs left.
    let measure_until = s.evaluations + (s.limit - s.evaluations) * 2 / 3;
    let mut measured: Vec<Option<(f64, f64)>> = vec![None; units.len()];
    for (u, slot) in units.iter().zip(&mut measured) {
        if s.evaluations >= measure_until {
            break;
        }
        if let Some(i) = s.try_set("candidate", &u.nodes)? {
            let v = &s.tried[i].1;
            *slot = Some((s.failing_error(v), base_excess - s.excess(v)));
        }
    }
    let mut useful: Vec<(usize, f64)> = measured
        .iter()
        .enumerate()
        .filter_map(|(k, m)| {
            let (_, gain) = (*m)?;
            (gain > MIN_GAIN_SHARE * base_excess)
                .then(|| (k, gain / s.flops(&units[k].nodes).max(1.0)))
        })
        .collect();
    // Branches, which hold chains of their own, come last: they are what is
    // left when the chains do not suffice.
    useful.sort_by(|a, b| {
        (units[a.0].kind == UnitKind::Branch)
            .cmp(&(units[b.0].kind == UnitKind::Branch))
            .then(b.1.total_cmp(&a.1))
    });

    // Promote the useful units together, best gain per FLOP first.
    let passes = |s: &Search, i: usize| s.tried[i].1.pass();
    let mut together: Vec<usize> = Vec::new();
    for &(k, _) in &useful {
        if units[k].nodes.iter().all(|n| together.contains(n)) {
            continue;
        }
        together.extend(&units[k].nodes);
        together.sort_unstable();
        together.dedup();
        match s.try_set("greedy", &together)? {
            Some(i) if passes(&s, i) => break,
            Some(_) => {}
            None => break,
        }
    }
    if !baseline_pass && !s.tried.iter().any(|(_, v)| v.pass()) {
        let mut all: Vec<usize> = units.iter().flat_map(|u| u.nodes.clone()).collect();
        all.sort_unstable();
        all.dedup();
        if !all.is_empty() {
            s.try_set("all candidates", &all)?;
        }
    }

    // The cheapest passing set, less the most expensive nodes it does not need.
    let cheapest_passing = s
        .tried
        .iter()
        .filter(|(_, v)| v.pass())
        .map(|(e, _)| e.clone())
        .min_by(|a, b| {
            s.flops(a)
                .total_cmp(&s.flops(b))
                .then(a.len().cmp(&b.len()))
        });
    let chosen = match cheapest_passing {
        Some(mut set) if !set.is_empty() => {
            let mut by_cost = set.clone();
            by_cost.sort_by(|&a, &b| s.cost[b].total_cmp(&s.cost[a]).then(a.cmp(&b)));
            for n in by_cost {
                let without: Vec<usize> = set.iter().copied().filter(|&m| m != n).collect();
                match s.try_set("pruned", &without)? {
                    Some(i) if passes(&s, i) => set = without,
                    Some(_) => {}
                    None => break,
                }
            }
            set
        }
        Some(set) => set,
        None => s
            .tried
            .iter()
            .filter(|(_, v)| s.excess(v) < base_excess)
            .min_by(|a, b| {
                s.excess(&a.1)
                    .total_cmp(&s.excess(&b.1))
                    .then(s.flops(&a.0).total_cmp(&s.flops(&b.0)))
            })
            .map(|(e, _)| e.clone())
            .unwrap_or_default(),
    };

    let last = if opts.per_layer {
        if chosen.is_empty() {
            first
        } else {
            s.run(&chosen, true)?
        }
    } else {
        s.tried
            .iter()
            .find(|(e, _)| *e == chosen)
            .map(|(_, v)| v.clone())
            .unwrap_or(first)
    };
    let pass = last.pass();
    let fp32_nodes = s.with_base(&chosen);
    let fp32_flop_share = s.share(&chosen);
    let spread_through_depth = !baseline_pass && (!pass || fp32_flop_share > SPREAD_FLOP_SHARE);
    let candidates_tried = units.len();
    let verdict = if baseline_pass {
        "the run passes without extra fp32 nodes".to_string()
    } else if candidates_tried == 0 {
        "no node that feeds a failing output runs on the GPU in fp16: nothing to promote"
            .to_string()
    } else if pass && !spread_through_depth {
        format!(
            "{} node(s) in fp32 ({:.1}% of FLOPs) make every output pass",
            chosen.len(),
            100.0 * fp32_flop_share
        )
    } else if pass {
        format!(
            "the error is spread through depth: the cheapest passing set keeps {} node(s), \
             {:.1}% of FLOPs, in fp32; the trade-off table lists the cheaper sets tried",
            chosen.len(),
            100.0 * fp32_flop_share
        )
    } else {
        format!(
            "no set tried within {MAX_EVALUATIONS} GPU runs passes (failing outputs' worst \
             max_rel {base_error:.3e} before, {:.3e} with the closest set of {} node(s), \
             {:.1}% of FLOPs); the trade-off table lists the sets tried",
            s.failing_error(&last),
            chosen.len(),
            100.0 * fp32_flop_share
        )
    };
    let mut promoted: Vec<Promotion> = chosen
        .iter()
        .map(|&n| {
            let (depth, op, why) = facts.rows[n].clone().unwrap_or((
                usize::MAX,
                s.sg.nodes[n].op.name().to_string(),
                "local error",
            ));
            Promotion {
                node: n,
                op,
                depth,
                reason: why,
                local_max_rel_error: facts.local[n].unwrap_or(0.0),
            }
        })
        .collect();
    promoted.sort_by_key(|p| p.depth);
    let candidates = units
        .iter()
        .zip(&measured)
        .map(|(u, m)| {
            let flops = s.flops(&u.nodes);
            Candidate {
                kind: u.kind,
                nodes: u.nodes.clone(),
                flops,
                flop_share: if s.total > 0.0 { flops / s.total } else { 0.0 },
                overflow: u.overflow,
                local_max_rel_error: u.prior,
                measured_max_rel_error: m.map(|m| m.0),
                gain: m.map(|m| m.1),
                gain_per_gflop: m.map(|m| m.1 / (flops.max(1.0) * 1e-9)),
            }
        })
        .collect();
    let mut tradeoff = std::mem::take(&mut s.points);
    frontier(&mut tradeoff);
    Ok((
        MixedSearch {
            fp32_nodes,
            pass,
            baseline_pass,
            evaluations: s.evaluations,
            fp32_flop_share,
            spread_through_depth,
            verdict,
            promoted,
            failing_outputs: s.failing.clone(),
            candidates,
            tradeoff,
        },
        last,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(share: f64, error: f64) -> TradeoffPoint {
        TradeoffPoint {
            set: "candidate",
            fp32_nodes: Vec::new(),
            fp32_flop_share: share,
            worst_max_rel_error: error,
            worst_cosine: 1.0,
            excess: 0.0,
            pass: error <= 0.02,
            frontier: false,
        }
    }

    #[test]
    fn the_frontier_keeps_the_sets_nothing_beats() {
        let mut p = vec![
            point(0.3, 0.01),
            point(0.0, 0.1),
            point(0.2, 0.05),
            point(0.1, 0.05),
            point(0.3, 0.001),
        ];
        frontier(&mut p);
        let got: Vec<(f64, bool)> = p.iter().map(|p| (p.fp32_flop_share, p.frontier)).collect();
        assert_eq!(
            got,
            vec![
                (0.0, true),
                (0.1, true),
                (0.2, false),
                (0.3, true),
                (0.3, false)
            ]
        );
    }
}
