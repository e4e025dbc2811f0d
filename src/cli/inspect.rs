//! `inspect`: ops, tensors and the execution plan, as text or JSON.

use super::load;
use crate::cli::outln;
use crate::gpu::pipeline::Precision;
use crate::runtime::no_kernel_reason;
use crate::{Interpreter, Model, Options};
use std::path::PathBuf;

/// One step of the plan: device ("gpu"/"cpu"), precision ("fp32"/"fp16"/"cpu")
/// and its nodes.
type PlanPart = (&'static str, &'static str, Vec<usize>);

/// Per node: "gpu", "cpu" or "none" (no kernel); the partitions; the fallback
/// reasons; the device line.
type PlanView = (
    Vec<&'static str>,
    Vec<PlanPart>,
    Vec<(usize, String)>,
    String,
);

/// The device of each main-subgraph node, the partitions, why nodes are not on the
/// GPU (nodes with no kernel anywhere get device "none" and their reason) and the
/// device line.
fn plan_view(interp: &Interpreter) -> crate::Result<PlanView> {
    let (mut device, parts, mut fallback, note) = delegate_view(interp)?;
    let sg = interp.graph().main();
    for (k, node) in sg.nodes.iter().enumerate() {
        if let Some(why) = no_kernel_reason(&node.op) {
            if let Some(d) = device.get_mut(k) {
                *d = "none";
            }
            fallback.retain(|(f, _)| *f != k);
            fallback.push((k, why));
        }
    }
    fallback.sort_by_key(|f| f.0);
    Ok((device, parts, fallback, note))
}

fn delegate_view(interp: &Interpreter) -> crate::Result<PlanView> {
    let g = interp.graph();
    let n = g.main().nodes.len();
    let Some(report) = interp.delegate_report() else {
        return Ok((
            vec!["cpu"; n],
            vec![("cpu", "cpu", (0..n).collect())],
            vec![],
            format!("cpu ({})", interp.device_choice().reason),
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

/// The `inspect --json` document of the model at `model` (the demo model when
/// `None`) planned with `options`; the Python module returns it as well.
///
/// With `inputs`, one invoke runs on them first, so the plan shown is the one
/// after it (nodes the fp16 overflow guard moved to fp32 included).
pub(crate) fn inspect_document(
    model: &Option<PathBuf>,
    options: Options,
    inputs: &[PathBuf],
) -> crate::Result<serde_json::Value> {
    let (m, name) = load(model)?;
    let interp = prepared(&m, &name, options, inputs)?;
    document(&m, &name, &interp)
}

/// The interpreter `inspect` shows: prepared even when some nodes have no kernel,
/// and run once on `inputs` when there are any.
fn prepared(
    m: &Model,
    name: &str,
    options: Options,
    inputs: &[PathBuf],
) -> crate::Result<Interpreter> {
    super::check_plan(&options, m, name)?;
    let mut interp = Interpreter::for_inspection(m, options)?;
    if !inputs.is_empty() {
        if inputs.len() != interp.num_inputs() {
            return Err(crate::Error::Input {
                index: inputs.len(),
                what: format!(
                    "{} --input files given, the model has {} inputs",
                    inputs.len(),
                    interp.num_inputs()
                ),
            });
        }
        for (i, p) in inputs.iter().enumerate() {
            interp.set_input(i, crate::npy::read(p)?)?;
        }
        interp.invoke()?;
    }
    Ok(interp)
}

/// The nodes the fp16 overflow guard moved to fp32 so far.
fn promoted(interp: &Interpreter) -> Vec<crate::PromotedNode> {
    interp
        .delegate_report()
        .map(|r| r.promoted_fp32_nodes.clone())
        .unwrap_or_default()
}

/// Per main-subgraph node, the head of the fusion group it belongs to in a
/// compiled GPU partition: the nodes that share that head's dispatch.
fn fused_heads(interp: &Interpreter) -> Vec<Option<usize>> {
    let mut heads = vec![None; interp.graph().main().nodes.len()];
    let Some(report) = interp.delegate_report() else {
        return heads;
    };
    for (p, part) in report.plan.partitions.iter().enumerate() {
        if report
            .partition_precision
            .get(p)
            .copied()
            .flatten()
            .is_none()
        {
            continue;
        }
        for g in &part.groups {
            for &m in &g.members {
                if let Some(h) = heads.get_mut(m) {
                    *h = Some(g.head);
                }
            }
        }
    }
    heads
}

/// The JSON document of `m` (shown as `name`) and its plan in `interp`.
fn document(m: &Model, name: &str, interp: &Interpreter) -> crate::Result<serde_json::Value> {
    let (device, parts, fallback, note) = plan_view(interp)?;
    let heads = fused_heads(interp);
    let g = interp.graph();
    let sg = g.main();
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
                "dispatch_of": heads.get(i).copied().flatten(),
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
    Ok(serde_json::json!({
        "model": name,
        "nodes": nodes,
        "tensors": tensors,
        "inputs": sg.inputs,
        "outputs": sg.outputs,
        "partitions": partitions,
        "fallback": fallback,
        "promoted_fp32_nodes": super::promoted_json(&promoted(interp)),
        "subgraphs": g.subgraphs.len(),
        "device": note,
        "device_choice": {
            "device": interp.device_choice().name(),
            "reason": interp.device_choice().reason,
        },
        "original_nodes": m.graph().main().nodes.len(),
        "plan": plan_json(interp),
    }))
}

/// The `plan` object: the adapter profile the GPU kernels were planned for and
/// every dispatch of an invoke; null on the CPU.
fn plan_json(interp: &Interpreter) -> serde_json::Value {
    let Some(profile) = interp.adapter_profile() else {
        return serde_json::Value::Null;
    };
    let dispatches: Vec<_> = interp
        .dispatch_plan()
        .iter()
        .map(|d| {
            serde_json::json!({
                "partition": d.partition,
                "nodes": d.nodes,
                "kernel": d.kernel,
                "workgroups": d.workgroups,
                "workgroup_size": d.workgroup_size,
                "flops": d.flops,
                "bytes": d.bytes,
                "madds_per_invocation": d.madds_per_invocation(),
            })
        })
        .collect();
    serde_json::json!({"adapter_profile": profile, "dispatches": dispatches})
}

/// The adapter profile and the dispatch table, as text.
fn print_plan(interp: &Interpreter) {
    let Some(p) = interp.adapter_profile() else {
        return;
    };
    outln!(
        "adapter profile: {}{} ({} compute units, subgroups {}..{}, {} invocations and {} B of memory per workgroup, {} resident invocations per unit, f16 {}, {} GB/s, {} MHz, launch {} us)",
        p.name,
        if p.software { " (software)" } else { "" },
        p.compute_units,
        p.subgroup_min,
        p.subgroup_max,
        p.max_invocations_per_workgroup,
        p.workgroup_storage_bytes,
        p.resident_invocations_per_unit,
        if p.f16 { "yes" } else { "no" },
        p.memory_bandwidth_gbps,
        p.clock_mhz,
        p.launch_us
    );
    outln!("  source: {}", p.source);
    let plan = interp.dispatch_plan();
    let flops: f64 = plan.iter().map(|d| d.flops).sum();
    let bytes: f64 = plan.iter().map(|d| d.bytes).sum();
    outln!(
        "plan: {} dispatches, {:.1} MFLOP, {:.2} MB",
        plan.len(),
        flops / 1e6,
        bytes / 1e6
    );
    outln!(
        "  {:>4} {:<16} {:<40} {:>10} {:>5} {:>10} {:>10} {:>10}",
        "#",
        "nodes",
        "kernel",
        "workgroups",
        "size",
        "MFLOP",
        "KB",
        "madd/inv"
    );
    for (i, d) in plan.iter().enumerate() {
        let nodes: Vec<String> = d.nodes.iter().map(|n| n.to_string()).collect();
        outln!(
            "  {:>4} {:<16} {:<40} {:>10} {:>5} {:>10.3} {:>10.1} {:>10.1}",
            i,
            nodes.join(","),
            d.kernel,
            d.workgroups,
            d.workgroup_size,
            d.flops / 1e6,
            d.bytes / 1e3,
            d.madds_per_invocation()
        );
    }
}

/// `inspect --dump-wgsl DIR`: write the finished WGSL of every GPU dispatch of
/// the model's plan to DIR, one file per dispatch (`p<partition>_<index>_<shader>.wgsl`).
pub fn dump_wgsl(
    model: &Option<PathBuf>,
    options: Options,
    inputs: &[PathBuf],
    dir: &std::path::Path,
) -> crate::Result<()> {
    let (m, name) = load(model)?;
    let interp = prepared(&m, &name, options, inputs)?;
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| crate::Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let sources = interp.dispatch_sources();
    for (file, text) in &sources {
        let path = dir.join(file);
        let tmp = dir.join(format!("{file}.tmp"));
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
    }
    tracing::info!("wrote {} kernels to {}", sources.len(), dir.display());
    Ok(())
}

/// Print the model and its plan, as text or as the JSON document.
pub fn inspect(
    model: &Option<PathBuf>,
    json: bool,
    options: Options,
    inputs: &[PathBuf],
) -> crate::Result<()> {
    if json {
        let doc = inspect_document(model, options, inputs)?;
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    let (m, name) = load(model)?;
    let interp = prepared(&m, &name, options, inputs)?;
    let (device, parts, fallback, note) = plan_view(&interp)?;
    let heads = fused_heads(&interp);
    let g = interp.graph();
    let sg = g.main();
    outln!("model: {name}");
    if !g.description.is_empty() {
        outln!("description: {}", g.description);
    }
    outln!(
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
        outln!("input  {}", show(t));
    }
    for &t in &sg.outputs {
        outln!("output {}", show(t));
    }
    for (s, sub) in g.subgraphs.iter().enumerate() {
        if g.subgraphs.len() > 1 {
            outln!("subgraph {s} ({}):", sub.name);
        } else {
            outln!("nodes:");
        }
        let dev: Vec<&str> = if s == 0 {
            device.clone()
        } else {
            sub.nodes
                .iter()
                .map(|n| match no_kernel_reason(&n.op) {
                    Some(_) => "none",
                    None => "cpu",
                })
                .collect()
        };
        let none = Vec::new();
        print_nodes(sub, &dev, if s == 0 { &heads } else { &none });
    }
    outln!("device: {note}");
    if interp.delegate_report().is_some() {
        outln!("  why: {}", interp.device_choice().reason);
    }
    for (d, precision, nodes) in &parts {
        match *d {
            "gpu" => outln!("partition on the gpu at {precision}: {} nodes", nodes.len()),
            _ => outln!("partition on the cpu: {} nodes", nodes.len()),
        }
    }
    for (k, why) in &fallback {
        match device.get(*k) {
            Some(&"none") => outln!("  node {k} cannot run: {why}"),
            _ => outln!("  node {k} stays on the cpu: {why}"),
        }
    }
    for line in super::promoted_lines(&promoted(&interp)) {
        outln!("  {line}");
    }
    print_plan(&interp);
    Ok(())
}

/// One line per node; nodes of a fusion group name the node whose dispatch
/// runs them (`heads`, by node).
fn print_nodes(sg: &crate::graph::Subgraph, device: &[&str], heads: &[Option<usize>]) {
    for (i, n) in sg.nodes.iter().enumerate() {
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|t| t.map_or("-".to_string(), |t| t.to_string()))
            .collect();
        let outs: Vec<String> = n.outputs.iter().map(|t| t.to_string()).collect();
        let fused = match heads.get(i).copied().flatten() {
            Some(h) if h == i => ", heads a fused dispatch".to_string(),
            Some(h) => format!(", fused into node {h}'s dispatch"),
            None => String::new(),
        };
        outln!(
            "  {i:4} {:<28} in [{}] out [{}] on {}{fused}",
            n.op.name(),
            ins.join(", "),
            outs.join(", "),
            device.get(i).copied().unwrap_or("cpu")
        );
    }
}
