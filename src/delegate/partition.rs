//! Grouping supported nodes into GPU partitions.
//!
//! Nodes are ordered topologically with a preference for staying on the current
//! device, so supported nodes cluster; each maximal run of supported nodes in that
//! order is one partition (contiguous runs of a topological order cannot form a
//! cycle). Partitions that are too small, or past `max_delegated_partitions` when
//! ranked by estimated cost saved, go back to the CPU. Nodes asked to stay in fp32
//! inside an fp16 run (`fp32_nodes`) form partitions of their own, compiled at fp32.
//!
//! Fusion groups (`fuse::find_groups`) are found first, among nodes of one class,
//! and ordered as one unit each, so a group always lands whole in one partition
//! after everything its members read; a group whose members would run on
//! different devices or precisions is never formed.

use super::fuse::{find_groups, Group};
use crate::gpu::tuning::Tuning;
use crate::gpu::verdict::Support;
use crate::graph::{Op, Subgraph};

/// One GPU partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Node indices in execution order.
    pub nodes: Vec<usize>,
    /// Tensors read from outside (excluding constants).
    pub inputs: Vec<usize>,
    /// Tensors produced inside and needed outside.
    pub outputs: Vec<usize>,
    /// Compile at fp32 whatever the requested precision (its nodes are in `fp32_nodes`).
    pub fp32: bool,
    /// Fusion groups among its nodes: each lowers with its head, as one
    /// dispatch (two for a depthwise + 1x1 pair too wide to fuse on a GPU).
    pub groups: Vec<Group>,
}

/// A step of execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run one node on the CPU.
    Cpu(usize),
    /// Run a whole partition on the GPU.
    Gpu(usize),
}

/// The execution plan of the main subgraph.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Steps in execution order.
    pub steps: Vec<Step>,
    /// GPU partitions.
    pub partitions: Vec<Partition>,
    /// Every node left on the CPU with the reason.
    pub fallback: Vec<(usize, String)>,
}

/// Partitioning limits and per-node precision.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Most partitions to delegate (None: unlimited).
    pub max_partitions: Option<usize>,
    /// Fewest nodes a partition must have.
    pub min_nodes: usize,
    /// Nodes (indices of the prepared graph, as `inspect` prints them) that run in
    /// fp32 inside an fp16 run.
    pub fp32_nodes: Vec<usize>,
    /// Fuse nodes into groups that run as one dispatch (see `fuse::find_groups`).
    pub fusion: bool,
    /// Overrides of the kernel choices (runtime checks, split-K, tiled
    /// convolutions, workgroup reductions); the default reads the environment.
    pub tuning: Tuning,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            max_partitions: None,
            min_nodes: 1,
            fp32_nodes: Vec::new(),
            fusion: true,
            tuning: Tuning::default(),
        }
    }
}

/// Where a node runs while partitioning: the CPU, the GPU at the requested precision,
/// or the GPU forced to fp32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cpu,
    Gpu,
    GpuFp32,
}

/// Estimated arithmetic of a node (multiply-adds or elements touched).
pub fn node_cost(sg: &Subgraph, n: usize) -> f64 {
    let node = &sg.nodes[n];
    let out: f64 = node
        .outputs
        .iter()
        .map(|&t| sg.tensors[t].num_elements() as f64)
        .sum();
    let reduce = |i: usize| -> f64 {
        node.input(i)
            .map(|t| {
                let s = &sg.tensors[t].shape;
                s.iter().skip(1).product::<usize>() as f64
            })
            .unwrap_or(1.0)
    };
    match &node.op {
        Op::Conv2D(_) | Op::FullyConnected(_) | Op::TransposeConv(_) | Op::TransposeConvBias(_) => {
            out * reduce(1)
        }
        Op::DepthwiseConv2D(_) => {
            out * node
                .input(1)
                .map(|t| {
                    let s = &sg.tensors[t].shape;
                    (s.get(1).copied().unwrap_or(1) * s.get(2).copied().unwrap_or(1)) as f64
                })
                .unwrap_or(1.0)
        }
        _ => out,
    }
}

/// Partition the main subgraph given each node's support verdict.
pub fn plan(sg: &Subgraph, support: &[Support], opts: &PartitionOptions) -> Plan {
    let nn = sg.nodes.len();
    let mut on_gpu: Vec<Class> = support
        .iter()
        .enumerate()
        .map(|(n, s)| match s {
            Err(_) => Class::Cpu,
            Ok(()) if opts.fp32_nodes.contains(&n) => Class::GpuFp32,
            Ok(()) => Class::Gpu,
        })
        .collect();
    let mut fallback: Vec<(usize, String)> = support
        .iter()
        .enumerate()
        .filter_map(|(n, s)| s.as_ref().err().map(|e| (n, e.to_string())))
        .collect();
    loop {
        let groups = if opts.fusion {
            let class: Vec<Option<u8>> = on_gpu
                .iter()
                .map(|c| match c {
                    Class::Cpu => None,
                    Class::Gpu => Some(0),
                    Class::GpuFp32 => Some(1),
                })
                .collect();
            find_groups(sg, &class, &|t| sg.outputs.contains(&t))
        } else {
            Vec::new()
        };
        let order = grouped_order(sg, &on_gpu, &groups);
        let segments = segments(&order, &on_gpu);
        // Rank partitions by estimated cost saved and demote the ones that lose.
        let mut scored: Vec<(usize, f64)> = segments
            .iter()
            .enumerate()
            .filter(|(_, (class, _))| *class != Class::Cpu)
            .map(|(i, (_, nodes))| {
                let p = boundary(sg, nodes);
                let work: f64 = nodes.iter().map(|&n| node_cost(sg, n)).sum();
                let transfer: f64 = p
                    .inputs
                    .iter()
                    .chain(&p.outputs)
                    .map(|&t| sg.tensors[t].num_elements() as f64)
                    .sum();
                (i, work - transfer)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut demoted = false;
        for (rank, &(i, _)) in scored.iter().enumerate() {
            let nodes = &segments[i].1;
            let reason = if nodes.len() < opts.min_nodes {
                Some(format!(
                    "its partition has {} nodes, fewer than min_nodes_per_partition {}",
                    nodes.len(),
                    opts.min_nodes
                ))
            } else if opts.max_partitions.is_some_and(|m| rank >= m) {
                Some("its partition is past max_delegated_partitions by estimated cost".into())
            } else {
                None
            };
            if let Some(r) = reason {
                for &n in nodes {
                    on_gpu[n] = Class::Cpu;
                    fallback.push((n, r.clone()));
                }
                demoted = true;
            }
        }
        if demoted {
            continue;
        }
        let mut plan = Plan::default();
        for (class, nodes) in segments {
            if class != Class::Cpu {
                plan.steps.push(Step::Gpu(plan.partitions.len()));
                let mut p = boundary(sg, &nodes);
                p.fp32 = class == Class::GpuFp32;
                p.groups = groups
                    .iter()
                    .filter(|g| nodes.contains(&g.head))
                    .cloned()
                    .collect();
                plan.partitions.push(p);
            } else {
                plan.steps.extend(nodes.into_iter().map(Step::Cpu));
            }
        }
        fallback.sort_by_key(|f| f.0);
        plan.fallback = fallback;
        debug_assert!(plan.steps.len() <= nn);
        return plan;
    }
}

/// A topological order that keeps running nodes of the current class while any
/// are ready. Each fusion group is one unit (named by its head), placed once
/// everything its members read from outside is done, its members in their order.
fn grouped_order(sg: &Subgraph, on_gpu: &[Class], groups: &[Group]) -> Vec<usize> {
    let nn = sg.nodes.len();
    let mut unit: Vec<usize> = (0..nn).collect();
    let mut members: Vec<Vec<usize>> = (0..nn).map(|n| vec![n]).collect();
    for g in groups {
        for &m in &g.members {
            unit[m] = g.head;
            members[m].clear();
        }
        members[g.head] = g.members.clone();
    }
    let mut producer = vec![usize::MAX; sg.tensors.len()];
    for (n, node) in sg.nodes.iter().enumerate() {
        for &t in &node.outputs {
            producer[t] = n;
        }
    }
    let mut pending = vec![0usize; nn];
    let mut consumers = vec![Vec::new(); nn];
    for (n, node) in sg.nodes.iter().enumerate() {
        for &t in node.inputs.iter().flatten() {
            let p = producer[t];
            if p != usize::MAX && unit[p] != unit[n] {
                pending[unit[n]] += 1;
                consumers[unit[p]].push(unit[n]);
            }
        }
    }
    let mut ready: Vec<usize> = (0..nn)
        .filter(|&n| unit[n] == n && pending[n] == 0)
        .collect();
    let mut order = Vec::with_capacity(nn);
    let mut current = ready.first().map(|&n| on_gpu[n]).unwrap_or(Class::Cpu);
    while !ready.is_empty() {
        let pick = match ready.iter().position(|&n| on_gpu[n] == current) {
            Some(p) => p,
            None => {
                current = on_gpu[ready[0]];
                0
            }
        };
        let n = ready.remove(pick);
        order.extend(&members[n]);
        for &c in &consumers[n] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(c);
            }
        }
        ready.sort_unstable();
    }
    order
}

fn segments(order: &[usize], on_gpu: &[Class]) -> Vec<(Class, Vec<usize>)> {
    let mut out: Vec<(Class, Vec<usize>)> = Vec::new();
    for &n in order {
        match out.last_mut() {
            Some((g, nodes)) if *g == on_gpu[n] => nodes.push(n),
            _ => out.push((on_gpu[n], vec![n])),
        }
    }
    out
}

/// Make every non-constant tensor the partition's nodes produce one of its outputs,
/// so each node's result is read back (for per-layer observation).
pub fn expose_intermediates(sg: &Subgraph, p: &mut Partition) {
    // A fused intermediate is never stored, so nothing fuses.
    p.groups.clear();
    for &n in &p.nodes {
        for &t in &sg.nodes[n].outputs {
            if !p.outputs.contains(&t) && !sg.tensors[t].is_constant() {
                p.outputs.push(t);
            }
        }
    }
}

/// Inputs and outputs of a set of nodes.
fn boundary(sg: &Subgraph, nodes: &[usize]) -> Partition {
    let inside: std::collections::HashSet<usize> = nodes.iter().copied().collect();
    let mut produced = std::collections::HashSet::new();
    for &n in nodes {
        produced.extend(sg.nodes[n].outputs.iter().copied());
    }
    let mut inputs = Vec::new();
    for &n in nodes {
        for &t in sg.nodes[n].inputs.iter().flatten() {
            if !produced.contains(&t) && !sg.tensors[t].is_constant() && !inputs.contains(&t) {
                inputs.push(t);
            }
        }
    }
    let mut outputs = Vec::new();
    for &n in nodes {
        for &t in &sg.nodes[n].outputs {
            let used_outside = sg.outputs.contains(&t)
                || sg
                    .nodes
                    .iter()
                    .enumerate()
                    .any(|(m, node)| !inside.contains(&m) && node.inputs.contains(&Some(t)));
            if used_outside && !outputs.contains(&t) {
                outputs.push(t);
            }
        }
    }
    Partition {
        nodes: nodes.to_vec(),
        inputs,
        outputs,
        fp32: false,
        groups: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Activation, Binary, Unary};
    use crate::graph::{DType, Node, TensorInfo};

    /// A chain t0 -> n0 -> t1 -> n1 -> ... with the given tensor sizes.
    fn chain(sizes: &[usize]) -> Subgraph {
        let tensors = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| TensorInfo::new(format!("t{i}"), DType::F32, vec![s]))
            .collect();
        let nodes = (0..sizes.len() - 1)
            .map(|i| Node {
                op: Op::Unary(Unary::Abs),
                inputs: vec![Some(i)],
                outputs: vec![i + 1],
            })
            .collect();
        Subgraph {
            name: "chain".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![sizes.len() - 1],
        }
    }

    fn verdicts(gpu: &[bool]) -> Vec<Support> {
        gpu.iter()
            .map(|&g| if g { Ok(()) } else { Err("cpu only".into()) })
            .collect()
    }

    #[test]
    fn unsupported_nodes_split_partitions() {
        let sg = chain(&[8, 8, 8, 8, 8]);
        let p = plan(
            &sg,
            &verdicts(&[true, false, true, true]),
            &PartitionOptions::default(),
        );
        assert_eq!(p.partitions.len(), 2);
        assert_eq!(p.steps, vec![Step::Gpu(0), Step::Cpu(1), Step::Gpu(1)]);
        assert_eq!(p.partitions[1].nodes, vec![2, 3]);
        assert_eq!(p.partitions[1].inputs, vec![2]);
        assert_eq!(p.partitions[1].outputs, vec![4]);
        assert_eq!(p.fallback, vec![(1, "cpu only".to_string())]);
    }

    #[test]
    fn partition_limit_keeps_the_most_work() {
        // The first GPU run is one cheap node, the second two big ones.
        let sg = chain(&[4, 4, 4, 4096, 4096]);
        let opts = PartitionOptions {
            max_partitions: Some(1),
            ..Default::default()
        };
        let p = plan(&sg, &verdicts(&[true, false, true, true]), &opts);
        assert_eq!(p.partitions.len(), 1);
        assert_eq!(p.partitions[0].nodes, vec![2, 3]);
        assert!(p
            .fallback
            .iter()
            .any(|(n, why)| *n == 0 && why.contains("max_delegated")));
    }

    #[test]
    fn small_partitions_stay_on_the_cpu() {
        let sg = chain(&[8, 8, 8, 8, 8]);
        let opts = PartitionOptions {
            min_nodes: 2,
            ..Default::default()
        };
        let p = plan(&sg, &verdicts(&[true, false, true, true]), &opts);
        assert_eq!(p.partitions.len(), 1);
        assert_eq!(p.steps[0], Step::Cpu(0));
    }

    #[test]
    fn independent_branches_group_into_one_partition() {
        // x -> a (gpu), x -> b (cpu), a -> c (gpu): order groups a and c together.
        let mut sg = chain(&[8, 8]);
        sg.tensors.push(TensorInfo::new("b", DType::F32, vec![8]));
        sg.tensors.push(TensorInfo::new("c", DType::F32, vec![8]));
        sg.nodes.push(Node {
            op: Op::Binary(Binary::Add, Activation::None),
            inputs: vec![Some(0), Some(0)],
            outputs: vec![2],
        });
        sg.nodes.push(Node {
            op: Op::Unary(Unary::Neg),
            inputs: vec![Some(1)],
            outputs: vec![3],
        });
        sg.outputs = vec![2, 3];
        let p = plan(
            &sg,
            &verdicts(&[true, false, true]),
            &PartitionOptions::default(),
        );
        assert_eq!(p.partitions.len(), 1);
        assert_eq!(p.partitions[0].nodes, vec![0, 2]);
    }

    /// x -> conv -> a; x -> abs -> b; ADD(a, b): the ADD fuses into the convolution
    /// although b comes later in node order, so the group runs after the ABS; with
    /// the ADD in fp32 the group is not formed.
    #[test]
    fn fusion_groups_run_after_what_they_read() {
        use crate::graph::op::{Conv2D, Padding};
        let t = |n: &str| TensorInfo::new(n, DType::F32, vec![1, 2, 2, 1]);
        let mut w = TensorInfo::new("w", DType::F32, vec![1, 1, 1, 1]);
        w.data = Some(std::sync::Arc::from(1f32.to_le_bytes().to_vec()));
        let conv = Op::Conv2D(Conv2D {
            padding: Padding::Same,
            stride_w: 1,
            stride_h: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        });
        let sg = Subgraph {
            name: "g".into(),
            tensors: vec![t("x"), w, t("a"), t("b"), t("y")],
            nodes: vec![
                Node {
                    op: conv,
                    inputs: vec![Some(0), Some(1)],
                    outputs: vec![2],
                },
                Node {
                    op: Op::Unary(Unary::Abs),
                    inputs: vec![Some(0)],
                    outputs: vec![3],
                },
                Node {
                    op: Op::Binary(Binary::Add, Activation::Relu),
                    inputs: vec![Some(2), Some(3)],
                    outputs: vec![4],
                },
            ],
            inputs: vec![0],
            outputs: vec![4],
        };
        let p = plan(&sg, &verdicts(&[true, true, true]), &Default::default());
        assert_eq!(p.partitions.len(), 1);
        assert_eq!(p.partitions[0].nodes, vec![1, 0, 2]);
        let groups = &p.partitions[0].groups;
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].head, &groups[0].members[..]), (0, &[0, 2][..]));

        let opts = PartitionOptions {
            fp32_nodes: vec![2],
            ..Default::default()
        };
        let p = plan(&sg, &verdicts(&[true, true, true]), &opts);
        assert!(p.partitions.iter().all(|p| p.groups.is_empty()));
        let unfused = PartitionOptions {
            fusion: false,
            ..Default::default()
        };
        let p = plan(&sg, &verdicts(&[true, true, true]), &unfused);
        assert_eq!(p.partitions[0].nodes, vec![0, 1, 2]);
        assert!(p.partitions[0].groups.is_empty());
    }

    #[test]
    fn fp32_nodes_get_partitions_of_their_own() {
        let sg = chain(&[8, 8, 8, 8, 8]);
        let opts = PartitionOptions {
            fp32_nodes: vec![1, 2],
            ..Default::default()
        };
        let p = plan(&sg, &verdicts(&[true, true, true, true]), &opts);
        let parts: Vec<(Vec<usize>, bool)> = p
            .partitions
            .iter()
            .map(|p| (p.nodes.clone(), p.fp32))
            .collect();
        assert_eq!(
            parts,
            vec![(vec![0], false), (vec![1, 2], true), (vec![3], false)]
        );
    }
}
