//! The roofline part of `bench --profile`: per dispatch and per op type, the work
//! done (operations, fewest bytes moved), the GPU time, and what they give:
//! achieved GFLOP/s and GB/s, arithmetic intensity and workgroups launched, as
//! JSON and as text tables to read against a device's peaks.

use super::measure::Measured;
use crate::cli::outln;
use crate::runtime::profile::{roofline, RooflineRow};
use serde_json::{json, Value};

/// Dispatches the text shows (the JSON has all of them).
const TOP: usize = 15;

fn row(r: &RooflineRow) -> Value {
    let mut v = json!({
        "op": r.op,
        "count": r.count,
        "gpu_ms": r.gpu_ms,
        "flops": r.flops,
        "bytes": r.bytes,
        "gflops_per_s": r.gflops_per_s(),
        "gb_per_s": r.gb_per_s(),
        "flops_per_byte": r.intensity(),
        "workgroups": r.workgroups,
    });
    if let (Some(index), Some(partition)) = (r.index, r.partition) {
        v["index"] = json!(index);
        v["partition"] = json!(partition);
        v["nodes"] = json!(r.nodes);
        v["workgroup_size"] = json!(r.workgroup_size);
    }
    v
}

/// The `roofline` object of the profile: every dispatch of an invoke in execution
/// order, the op types by GPU time, and the total; all per invoke.
pub fn json(m: &Measured) -> Value {
    let r = roofline(&m.profiles);
    json!({
        "dispatches": r.dispatches.iter().map(row).collect::<Vec<_>>(),
        "ops": r.ops.iter().map(row).collect::<Vec<_>>(),
        "total": row(&r.total),
    })
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

/// A count with an SI prefix: 1.23 G, 45.6 M, 7.89 k.
fn si(x: f64) -> String {
    match x.abs() {
        a if a >= 1e9 => format!("{:.2} G", x / 1e9),
        a if a >= 1e6 => format!("{:.2} M", x / 1e6),
        a if a >= 1e3 => format!("{:.2} k", x / 1e3),
        _ => format!("{x:.0} "),
    }
}

fn header(first: &str) {
    outln!(
        "  {first:<34} {:>9} {:>6} {:>10} {:>10} {:>9} {:>8} {:>7} {:>10}",
        "gpu ms",
        "%",
        "FLOP",
        "bytes",
        "GFLOP/s",
        "GB/s",
        "FLOP/B",
        "workgroups"
    );
}

fn line(label: &str, r: &Value, total_ms: f64) {
    let share = if total_ms > 0.0 {
        f(r, "gpu_ms") / total_ms * 100.0
    } else {
        0.0
    };
    outln!(
        "  {label:<34} {:>9.4} {:>5.1}% {:>10} {:>10} {:>9.2} {:>8.2} {:>7.2} {:>10}",
        f(r, "gpu_ms"),
        share,
        si(f(r, "flops")),
        si(f(r, "bytes")),
        f(r, "gflops_per_s"),
        f(r, "gb_per_s"),
        f(r, "flops_per_byte"),
        r["workgroups"].as_u64().unwrap_or(0),
    );
}

/// Print the roofline tables of `roof` (the profile's `roofline` object);
/// `software` when the adapter is a CPU (its numbers are CPU numbers).
pub fn print(roof: &Value, software: bool) {
    let Some(dispatches) = roof["dispatches"].as_array().filter(|d| !d.is_empty()) else {
        return;
    };
    let total = &roof["total"];
    let total_ms = f(total, "gpu_ms");
    outln!(
        "roofline per invoke{}: {} dispatches, {}FLOP, {}B moved at least, {:.4} ms -> {:.2} GFLOP/s, {:.2} GB/s, {:.2} FLOP/B",
        if software {
            " (software adapter: these are CPU numbers)"
        } else {
            ""
        },
        dispatches.len(),
        si(f(total, "flops")),
        si(f(total, "bytes")),
        total_ms,
        f(total, "gflops_per_s"),
        f(total, "gb_per_s"),
        f(total, "flops_per_byte"),
    );
    outln!(
        "  a row is compute-bound on a device when its FLOP/B exceeds the device's peak GFLOP/s over its peak GB/s"
    );
    let mut top: Vec<&Value> = dispatches.iter().collect();
    top.sort_by(|a, b| f(b, "gpu_ms").total_cmp(&f(a, "gpu_ms")));
    outln!(
        "top {} of {} dispatches by gpu time:",
        TOP.min(top.len()),
        top.len()
    );
    header("#  op  [nodes]");
    for d in top.into_iter().take(TOP) {
        let nodes: Vec<String> = d["nodes"]
            .as_array()
            .map(|n| n.iter().map(|v| v.to_string()).collect())
            .unwrap_or_default();
        let label = format!(
            "{:<3} {} [{}]",
            d["index"].as_u64().unwrap_or(0),
            d["op"].as_str().unwrap_or("?"),
            nodes.join(",")
        );
        line(&label, d, total_ms);
    }
    outln!("by op type:");
    header("op  (dispatches)");
    for r in roof["ops"].as_array().into_iter().flatten() {
        let label = format!(
            "{} ({})",
            r["op"].as_str().unwrap_or("?"),
            r["count"].as_u64().unwrap_or(0)
        );
        line(&label, r, total_ms);
    }
    line(&format!("total ({})", dispatches.len()), total, total_ms);
}
