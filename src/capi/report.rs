//! The delegate's report (option `report=PATH`): which adapter ran, which runtime
//! nodes the delegate claimed, its partitions with their precision, the nodes left
//! to the host with the reason, and the nodes the fp16 overflow guard moved to
//! fp32. It has the keys of the `inspect --json` document (over the prepared graph
//! of the runtime's primary subgraph) plus `adapter`, `precision`,
//! `claimed_nodes` (runtime node indices) and `subgraph_reports` (the same
//! document for each further subgraph the runtime prepared, such as WHILE
//! bodies). The file is written after each Prepare and again whenever the plan
//! changes (a Prepare of the same subgraph again, a node promoted to fp32, a
//! kernel prepared again for new input shapes: `reprepared`).

use super::claim::Mapping;
use super::error::CapiResult;
use crate::delegate::{Plan, Step};
use crate::PromotedNode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The documents of every subgraph prepared by one delegate, and where they go.
#[derive(Debug, Default)]
pub struct Book {
    /// The file rewritten on every change (None: kept in memory only).
    path: Option<PathBuf>,
    /// One document per subgraph, keyed by its runtime context, the first
    /// prepared (the primary subgraph) first.
    subgraphs: Vec<(usize, Value)>,
}

/// A book shared by the delegate and its kernels.
pub type SharedBook = Arc<Mutex<Book>>;

/// What one Prepare decided, for its document.
pub struct Decision<'a> {
    /// The prepared graph and its runtime mapping.
    pub mapping: &'a Mapping,
    /// Runtime node index of each execution-plan position.
    pub runtime_plan: &'a [i32],
    /// The plan over the prepared graph.
    pub plan: &'a Plan,
    /// Per partition of `plan`: the precision it compiled at ("fp32"/"fp16"),
    /// or the reason it did not compile.
    pub compiled: Vec<CapiResult<&'static str>>,
    /// Runtime node indices handed to the delegate.
    pub claimed: &'a [i32],
    /// Prepared nodes (custom ops LiteRT has no kernel for) the delegate runs on
    /// the crate's reference kernels.
    pub host_custom: &'a [usize],
    /// The adapter line.
    pub adapter: String,
    /// The precision asked for.
    pub precision: &'static str,
}

impl Book {
    /// A book writing to `path`.
    pub fn new(path: Option<PathBuf>) -> Book {
        Book {
            path,
            subgraphs: Vec::new(),
        }
    }

    /// Record the document of the subgraph with context `key` (replacing an
    /// earlier one) and rewrite the file.
    pub fn set(&mut self, key: usize, doc: Value) -> crate::Result<()> {
        match self.subgraphs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, d)) => *d = doc,
            None => self.subgraphs.push((key, doc)),
        }
        self.write()
    }

    /// Add nodes the fp16 overflow guard moved to fp32 (prepared-graph indices)
    /// to the subgraph with context `key`; rewrite the file when any is new.
    pub fn promote(&mut self, key: usize, nodes: &[PromotedNode]) -> crate::Result<()> {
        let Some((_, doc)) = self.subgraphs.iter_mut().find(|(k, _)| *k == key) else {
            return Ok(());
        };
        let Some(list) = doc
            .get_mut("promoted_fp32_nodes")
            .and_then(Value::as_array_mut)
        else {
            return Ok(());
        };
        let mut changed = false;
        for p in nodes {
            if !list.iter().any(|v| v["node"] == json!(p.node)) {
                list.push(promoted_json(p));
                changed = true;
            }
        }
        if changed {
            self.write()
        } else {
            Ok(())
        }
    }

    /// Record that the kernel of prepared nodes `nodes` in the subgraph with
    /// context `key` prepared again, on the GPU, for new input shapes; rewrite
    /// the file.
    pub fn reprepared(
        &mut self,
        key: usize,
        nodes: &[usize],
        input_shapes: &[Vec<usize>],
    ) -> crate::Result<()> {
        let Some((_, doc)) = self.subgraphs.iter_mut().find(|(k, _)| *k == key) else {
            return Ok(());
        };
        let entry = json!({"nodes": nodes, "input_shapes": input_shapes, "device": "gpu"});
        match doc.get_mut("reprepared").and_then(Value::as_array_mut) {
            Some(list) => list.push(entry),
            None => doc["reprepared"] = json!([entry]),
        }
        self.write()
    }

    /// The whole report: the primary subgraph's document with the others under
    /// `subgraph_reports` (`null` before the first Prepare).
    pub fn document(&self) -> Value {
        let Some((_, first)) = self.subgraphs.first() else {
            return Value::Null;
        };
        let mut doc = first.clone();
        let rest: Vec<Value> = self.subgraphs[1..].iter().map(|(_, d)| d.clone()).collect();
        doc["subgraphs"] = json!(self.subgraphs.len());
        doc["subgraph_reports"] = Value::Array(rest);
        doc
    }

    /// Write the report to its file (through a temporary file, so a reader never
    /// sees half a document).
    fn write(&self) -> crate::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        // A `Value` always serializes.
        let text = serde_json::to_string_pretty(&self.document()).unwrap_or_default();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                crate::Error::Io {
                    path: path.display().to_string(),
                    source,
                }
            })
    }
}

fn promoted_json(p: &PromotedNode) -> Value {
    json!({"node": p.node, "op": p.op, "tensor": p.tensor, "reason": p.reason})
}

/// The document of one prepared subgraph.
pub fn document(d: &Decision) -> Value {
    let sg = &d.mapping.sg;
    let n = sg.nodes.len();
    let mut device = vec!["cpu"; n];
    let mut parts = Vec::new();
    let mut cpu_run: Vec<usize> = Vec::new();
    let mut fallback = d.plan.fallback.clone();
    for step in &d.plan.steps {
        match step {
            Step::Cpu(k) if d.host_custom.contains(k) => {
                if !cpu_run.is_empty() {
                    parts.push(json!({"device": "cpu", "precision": "cpu",
                                      "nodes": std::mem::take(&mut cpu_run)}));
                }
                device[*k] = "delegate-cpu";
                parts.push(json!({"device": "delegate-cpu", "precision": "fp32", "nodes": [k]}));
            }
            Step::Cpu(k) => cpu_run.push(*k),
            Step::Gpu(p) => {
                if !cpu_run.is_empty() {
                    parts.push(json!({"device": "cpu", "precision": "cpu",
                                      "nodes": std::mem::take(&mut cpu_run)}));
                }
                let nodes = &d.plan.partitions[*p].nodes;
                match d.compiled.get(*p) {
                    Some(Ok(precision)) => {
                        for &k in nodes {
                            device[k] = "gpu";
                        }
                        parts.push(json!({"device": "gpu", "precision": precision,
                                          "nodes": nodes}));
                    }
                    other => {
                        let why = match other {
                            Some(Err(e)) => e.to_string(),
                            _ => "not compiled".to_string(),
                        };
                        for &k in nodes {
                            fallback.push((k, format!("its partition failed to compile: {why}")));
                        }
                        parts.push(json!({"device": "cpu", "precision": "cpu", "nodes": nodes}));
                    }
                }
            }
        }
    }
    if !cpu_run.is_empty() {
        parts.push(json!({"device": "cpu", "precision": "cpu", "nodes": cpu_run}));
    }
    for f in fallback.iter_mut() {
        if d.host_custom.contains(&f.0) {
            f.1 = format!(
                "{}; the delegate runs it on its reference kernels (LiteRT has none)",
                f.1
            );
        }
    }
    fallback.sort_by_key(|f| f.0);
    let runtime = |positions: &[usize]| -> Vec<i32> {
        positions
            .iter()
            .filter_map(|&r| d.runtime_plan.get(r).copied())
            .collect()
    };
    let nodes: Vec<Value> = sg
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            json!({
                "index": i,
                "op": node.op.name(),
                "inputs": node.inputs.iter().map(|t| t.map_or(-1, |t| t as i64)).collect::<Vec<_>>(),
                "outputs": node.outputs,
                "device": device[i],
                "dispatch_of": Value::Null,
                "runtime_nodes": runtime(&d.mapping.origin[i]),
            })
        })
        .collect();
    let tensors: Vec<Value> = sg
        .tensors
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "index": i,
                "name": t.name,
                "dtype": t.dtype.name(),
                "shape": t.shape,
                "constant": t.is_constant(),
            })
        })
        .collect();
    let fallback: Vec<Value> = fallback
        .iter()
        .map(|(k, why)| {
            json!({
                "node": k,
                "op": sg.nodes.get(*k).map(|n| n.op.name()).unwrap_or("?"),
                "runtime_nodes": d.mapping.origin.get(*k).map(|o| runtime(o)).unwrap_or_default(),
                "reason": why,
            })
        })
        .collect();
    json!({
        "model": "LiteRT graph",
        "nodes": nodes,
        "tensors": tensors,
        "inputs": sg.inputs,
        "outputs": sg.outputs,
        "partitions": parts,
        "fallback": fallback,
        "promoted_fp32_nodes": [],
        "subgraphs": 1,
        "device": format!("gpu {} at {}", d.adapter, d.precision),
        "original_nodes": d.runtime_plan.len(),
        "adapter": d.adapter,
        "precision": d.precision,
        "claimed_nodes": d.claimed,
        "folded_nodes": runtime(&d.mapping.folded),
        "reprepared": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(claimed: &[i32]) -> Value {
        json!({"claimed_nodes": claimed, "promoted_fp32_nodes": [], "reprepared": []})
    }

    #[test]
    fn the_file_follows_every_change_of_the_plan() {
        let path = std::env::temp_dir().join(format!("capi_report_{}.json", std::process::id()));
        let mut book = Book::new(Some(path.clone()));
        assert_eq!(book.document(), Value::Null);
        book.set(1, doc(&[0, 1])).unwrap();
        book.set(2, doc(&[5])).unwrap();
        let read =
            || -> Value { serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap() };
        let d = read();
        assert_eq!(
            d["claimed_nodes"],
            json!([0, 1]),
            "the first subgraph is the primary"
        );
        assert_eq!(d["subgraphs"], json!(2));
        assert_eq!(d["subgraph_reports"][0]["claimed_nodes"], json!([5]));
        // The same subgraph prepared again replaces its document.
        book.set(1, doc(&[0])).unwrap();
        assert_eq!(read()["claimed_nodes"], json!([0]));
        let p = PromotedNode {
            node: 3,
            op: "ADD".into(),
            tensor: "t".into(),
            reason: "saturated".into(),
        };
        book.promote(1, std::slice::from_ref(&p)).unwrap();
        book.promote(1, std::slice::from_ref(&p)).unwrap();
        assert_eq!(read()["promoted_fp32_nodes"], json!([promoted_json(&p)]));
        book.reprepared(2, &[0, 1], &[vec![2, 4]]).unwrap();
        let r = &read()["subgraph_reports"][0]["reprepared"];
        assert_eq!(r[0]["input_shapes"], json!([[2, 4]]));
        let _ = std::fs::remove_file(&path);
    }
}
