//! `inspect`: ops, tensors and the execution plan, as text or JSON.

use super::load;
use crate::gpu::pipeline::Precision;
use crate::{Interpreter, Options};
use std::path::PathBuf;

/// One step of the plan: device ("gpu"/"cpu"), precision ("fp32"/"fp16"/"cpu")
/// and its nodes.
pub type PlanPart = (&'static str, &'static str, Vec<usize>);

/// Per node: "gpu" or "cpu"; the partitions; the fallback reasons; the device line.
pub type PlanView = (
    Vec<&'static str>,
    Vec<PlanPart>,
    Vec<(usize, String)>,
    String,
);

pub fn plan_view(interp: &Interpreter) -> crate::Result<PlanView> {
    let g = interp.graph();
    let n = g.main().nodes.len();
    let Some(report) = interp.delegate_report() else {
        return Ok((
            vec!["cpu"; n],
            vec![("cpu", "cpu", (0..n).collect())],
            vec![],
            "cpu (no GPU)".into(),
        ));
    };
    let mut device = vec!["cpu"; n];
    let mut parts = Vec::new();
    let mut cpu_run: Vec<usize> = Vec::new();
    for step in &report.plan.steps {
        match step {
            crate::delegate::Step::Cpu(k) => cpu_run.push(*k),
            crate::delegate::Step::Gpu(p) => {
                if !cpu_run.is_empty() {
                    parts.push(("cpu", "cpu", std::mem::take(&mut cpu_run)));
                }
                let nodes = report.plan.partitions[*p].nodes.clone();
                let compiled = report.partition_precision.get(*p).copied().flatten();
                if compiled.is_some() {
                    for &k in &nodes {
                        device[k] = "gpu";
                    }
                }
                let (dev, precision) = match compiled {
                    None => ("cpu", "cpu"),
                    Some(Precision::F32) => ("gpu", "fp32"),
                    Some(Precision::F16) => ("gpu", "fp16"),
                };
                parts.push((dev, precision, nodes));
            }
        }
    }
    if !cpu_run.is_empty() {
        parts.push(("cpu", "cpu", cpu_run));
    }
    let mut fallback = report.plan.fallback.clone();
    for (p, why) in &report.failed {
        for &k in &report.plan.partitions[*p].nodes {
            fallback.push((k, format!("its partition failed to compile: {why}")));
        }
    }
    let mut note = format!("gpu {} at {:?}", report.adapter, report.precision);
    if report.f16_unavailable {
        note.push_str(" (fp16 requested, but the adapter has no SHADER_F16: running fp32)");
    }
    Ok((device, parts, fallback, note))
}

/// Print the model and its plan.
pub fn inspect(model: &Option<PathBuf>, json: bool, options: Options) -> crate::Result<()> {
    let (m, name) = load(model)?;
    super::check_plan(&options, &m, &name)?;
    let interp = Interpreter::with_options(&m, options)?;
    let (device, parts, fallback, note) = plan_view(&interp)?;
    let g = interp.graph();
    let sg = g.main();
    if json {
        let nodes: Vec<_> = sg
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                serde_json::json!({
                    "index": i,
                    "op": n.op.name(),
                    "inputs": n.inputs.iter().map(|t| t.map_or(-1, |t| t as i64)).collect::<Vec<_>>(),
                    "outputs": n.outputs,
                    "device": device.get(i).copied().unwrap_or("cpu"),
                })
            })
            .collect();
        let tensors: Vec<_> = sg
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| {
                serde_json::json!({
                    "index": i,
                    "name": t.name,
                    "dtype": t.dtype.name(),
                    "shape": t.shape,
                    "constant": t.is_constant(),
                })
            })
            .collect();
        let partitions: Vec<_> = parts
            .iter()
            .map(|(d, precision, nodes)| {
                serde_json::json!({"device": d, "precision": precision, "nodes": nodes})
            })
            .collect();
        let fallback: Vec<_> = fallback
            .iter()
            .map(|(k, why)| {
                serde_json::json!({
                    "node": k,
                    "op": sg.nodes.get(*k).map(|n| n.op.name()).unwrap_or("?"),
                    "reason": why,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "model": name,
            "nodes": nodes,
            "tensors": tensors,
            "inputs": sg.inputs,
            "outputs": sg.outputs,
            "partitions": partitions,
            "fallback": fallback,
            "subgraphs": g.subgraphs.len(),
            "device": note,
            "original_nodes": m.graph().main().nodes.len(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    println!("model: {name}");
    if !g.description.is_empty() {
        println!("description: {}", g.description);
    }
    println!(
        "subgraphs: {}, nodes in main: {} ({} after folding constants and fusing activations), tensors in main: {}",
        g.subgraphs.len(),
        m.graph().main().nodes.len(),
        sg.nodes.len(),
        sg.tensors.len()
    );
    let show = |t: usize| {
        let info = &sg.tensors[t];
        format!("#{t} {} {}{:?}", info.name, info.dtype, info.shape)
    };
    for &t in &sg.inputs {
        println!("input  {}", show(t));
    }
    for &t in &sg.outputs {
        println!("output {}", show(t));
    }
    for (s, sub) in g.subgraphs.iter().enumerate() {
        if g.subgraphs.len() > 1 {
            println!("subgraph {s} ({}):", sub.name);
        } else {
            println!("nodes:");
        }
        let dev: Vec<&str> = if s == 0 {
            device.clone()
        } else {
            vec!["cpu"; sub.nodes.len()]
        };
        print_nodes(sub, &dev);
    }
    println!("device: {note}");
    for (d, precision, nodes) in &parts {
        match *d {
            "gpu" => println!("partition on the gpu at {precision}: {} nodes", nodes.len()),
            _ => println!("partition on the cpu: {} nodes", nodes.len()),
        }
    }
    for (k, why) in &fallback {
        println!("  node {k} stays on the cpu: {why}");
    }
    Ok(())
}

fn print_nodes(sg: &crate::graph::Subgraph, device: &[&str]) {
    for (i, n) in sg.nodes.iter().enumerate() {
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|t| t.map_or("-".to_string(), |t| t.to_string()))
            .collect();
        let outs: Vec<String> = n.outputs.iter().map(|t| t.to_string()).collect();
        println!(
            "  {i:4} {:<28} in [{}] out [{}] on {}",
            n.op.name(),
            ins.join(", "),
            outs.join(", "),
            device.get(i).copied().unwrap_or("cpu")
        );
    }
}
