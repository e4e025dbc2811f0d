//! The checked-in table of where each golden model runs under the GPU delegate,
//! `tests/data/gpu_expected.json`:
//!
//! ```text
//! model -> "fp32" | "fp16" -> {
//!   "gpu_nodes":  nodes in partitions that compiled (they run on the GPU),
//!   "cpu_nodes":  the other nodes, as index ranges ("0-3,7"; "" when none),
//!   "cpu_ops":    those nodes counted by op,
//!   "partitions": [{"nodes": index ranges, "precision": "fp32" | "fp16" | "failed"}]
//! }
//! ```
//!
//! Node indices are those of the prepared graph, as `tflite-wgpu inspect` prints
//! them. A model that falls back to the CPU, splits differently or compiles at
//! another precision no longer matches its row, and the failure shows the diff.
//!
//! When a change moves nodes on purpose (a new GPU op, a fusion, another precision
//! policy), regenerate the table and review its diff:
//!
//! ```text
//! UPDATE_EXPECTED=1 cargo test --test conformance gpu::
//! ```
//!
//! With `GOLDEN_FILTER` set only the selected models' rows are rewritten; without
//! it, rows of models that no longer have a golden are dropped. `UPDATE_EXPECTED`
//! is refused under CI, where the table is only read.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tflite_wgpu::Interpreter;

/// The table's path.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/gpu_expected.json");

/// Serializes rewrites of the table by tests running in parallel.
static WRITE: Mutex<()> = Mutex::new(());

/// The table's key for a precision.
pub fn precision_key(fp16: bool) -> &'static str {
    if fp16 {
        "fp16"
    } else {
        "fp32"
    }
}

/// True when `UPDATE_EXPECTED` asks to rewrite the table; panics under CI.
pub fn update_mode() -> bool {
    let on = std::env::var("UPDATE_EXPECTED").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !(on && super::in_ci()),
        "UPDATE_EXPECTED is refused under CI: regenerate {PATH} locally and commit it"
    );
    on
}

/// The table as checked in (an empty table when the file is absent and
/// `UPDATE_EXPECTED` is set; a failure otherwise).
pub fn load() -> Map<String, Value> {
    match std::fs::read_to_string(PATH) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{PATH} is not a JSON object: {e}")),
        Err(e) if update_mode() => {
            eprintln!("NOTE: {PATH}: {e}; writing a new table");
            Map::new()
        }
        Err(e) => panic!("{PATH}: {e} (generate it with UPDATE_EXPECTED=1)"),
    }
}

/// Where a prepared interpreter runs its nodes, as a row of the table; None when it
/// has no delegate report (it does not use the GPU at all).
pub fn placement(interp: &Interpreter) -> Option<Value> {
    let report = interp.delegate_report()?;
    let sg = interp.graph().main();
    let mut on_gpu = vec![false; sg.nodes.len()];
    let mut partitions = Vec::new();
    for (i, p) in report.plan.partitions.iter().enumerate() {
        let compiled = report.partition_precision.get(i).copied().flatten();
        let precision = match compiled {
            Some(p) => match format!("{p:?}").as_str() {
                "F16" => "fp16".to_string(),
                "F32" => "fp32".to_string(),
                other => other.to_lowercase(),
            },
            None => "failed".to_string(),
        };
        if compiled.is_some() && report.failed.iter().all(|(f, _)| *f != i) {
            for &n in &p.nodes {
                if let Some(slot) = on_gpu.get_mut(n) {
                    *slot = true;
                }
            }
        }
        partitions.push(json!({"nodes": ranges(&p.nodes), "precision": precision}));
    }
    let cpu: Vec<usize> = (0..sg.nodes.len()).filter(|&n| !on_gpu[n]).collect();
    let mut cpu_ops = BTreeMap::new();
    for &n in &cpu {
        *cpu_ops
            .entry(sg.nodes[n].op.name().to_string())
            .or_insert(0usize) += 1;
    }
    Some(json!({
        "gpu_nodes": on_gpu.iter().filter(|&&g| g).count(),
        "cpu_nodes": ranges(&cpu),
        "cpu_ops": cpu_ops,
        "partitions": partitions,
    }))
}

/// True when the interpreter asked for fp16 but the adapter lacks SHADER_F16 (its
/// partitions then compile at fp32).
pub fn f16_unavailable(interp: &Interpreter) -> bool {
    interp.delegate_report().is_some_and(|r| r.f16_unavailable)
}

/// Compare `actual` with the table's row for `model` at `precision`; Err shows the
/// difference as a line diff of the two rows.
pub fn check(
    table: &Map<String, Value>,
    model: &str,
    precision: &str,
    actual: &Value,
    f16_unavailable: bool,
) -> Result<(), String> {
    let Some(want) = table.get(model).and_then(|m| m.get(precision)) else {
        return Err(format!(
            "no row for {model} at {precision} in {PATH} (regenerate with \
             UPDATE_EXPECTED=1 and review the diff); this run:\n{}",
            pretty(actual)
        ));
    };
    let want = if f16_unavailable {
        // Without SHADER_F16 every partition compiles at fp32.
        serde_json::from_str(&pretty(want).replace("\"fp16\"", "\"fp32\"")).expect("json")
    } else {
        want.clone()
    };
    if &want == actual {
        Ok(())
    } else {
        Err(format!(
            "placement differs from {PATH} (- expected, + this run; if intended, \
             regenerate with UPDATE_EXPECTED=1):\n{}",
            diff(&pretty(&want), &pretty(actual))
        ))
    }
}

/// Rows of the table at `precision` for models not in `names` (only meaningful
/// when no `GOLDEN_FILTER` narrows the run).
pub fn stale(table: &Map<String, Value>, precision: &str, names: &[String]) -> Vec<String> {
    table
        .iter()
        .filter(|(m, row)| row.get(precision).is_some() && !names.contains(m))
        .map(|(m, _)| m.clone())
        .collect()
}

/// Rewrite the table's rows at `precision` with `rows`. Without `GOLDEN_FILTER`,
/// rows at `precision` of models not in `rows` are dropped.
pub fn store(precision: &str, rows: &BTreeMap<String, Value>) {
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut table = load();
    if super::golden_filter().is_none() {
        for row in table.values_mut() {
            if let Some(m) = row.as_object_mut() {
                m.remove(precision);
            }
        }
        table.retain(|_, row| row.as_object().is_some_and(|m| !m.is_empty()));
    }
    for (model, row) in rows {
        let entry = table
            .entry(model.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = entry.as_object_mut() {
            m.insert(precision.to_string(), row.clone());
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(table)).expect("json") + "\n";
    std::fs::write(PATH, text).unwrap_or_else(|e| panic!("writing {PATH}: {e}"));
    eprintln!("NOTE: rewrote {} rows at {precision} in {PATH}", rows.len());
}

/// Node indices as ranges of consecutive runs, in the given order: "0-3,7".
pub fn ranges(nodes: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        let mut j = i;
        while j + 1 < nodes.len() && nodes[j + 1] == nodes[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            nodes[i].to_string()
        } else {
            format!("{}-{}", nodes[i], nodes[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("json")
}

/// A line diff of `a` and `b` (longest common subsequence): lines only in `a`
/// marked `-`, only in `b` marked `+`, common lines indented.
pub fn diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("- {}\n", a[i]);
            i += 1;
        } else {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        }
    }
    out
}
