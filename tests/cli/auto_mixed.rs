//! `validate --auto-mixed` on a model with two heads written by the crate's writer:
//! a deep regression head whose two cancellations (a value shifted by 3000 and
//! back, another by 1500 and back) make fp16 fail its large-range output, and a
//! wide classifier head that fp16 computes well. The search promotes only nodes
//! of the failing head, measured alone and then together by gain per FLOP, and
//! reports the sets it tried as a trade-off table in text and JSON.

use crate::common;

use common::gpu::{gpu_available, values};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Binary, FullyConnected};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::validate::{self, ValidateOptions};
use tflite_wgpu::{npy, Interpreter, Model, Tensor};

/// A graph under construction.
#[derive(Default)]
struct G {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
}

impl G {
    fn tensor(&mut self, t: TensorInfo) -> usize {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    fn constant(&mut self, name: &str, shape: Vec<usize>, v: &[f32]) -> usize {
        let mut t = TensorInfo::new(name.to_string(), DType::F32, shape);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        self.tensor(t)
    }

    fn node(&mut self, name: &str, op: Op, inputs: &[usize], shape: Vec<usize>) -> usize {
        let out = self.tensor(TensorInfo::new(name.to_string(), DType::F32, shape));
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|&t| Some(t)).collect(),
            outputs: vec![out],
        });
        out
    }

    /// A dense layer `x` [1, n] -> [1, m] with weights of scale `scale`.
    fn dense(&mut self, name: &str, x: usize, n: usize, m: usize, act: Activation) -> usize {
        let seed = self.tensors.len() as u32;
        let w: Vec<f32> = values(n * m, seed)
            .iter()
            .map(|v| v * 2.0 / (n as f32).sqrt())
            .collect();
        let w = self.constant(&format!("{name}/weights"), vec![m, n], &w);
        let b = self.constant(&format!("{name}/bias"), vec![m], &values(m, seed + 1));
        let fc = FullyConnected {
            activation: act,
            keep_num_dims: false,
            asymmetric_quantize_inputs: false,
        };
        self.node(name, Op::FullyConnected(fc), &[x, w, b], vec![1, m])
    }

    fn binary(&mut self, name: &str, b: Binary, x: usize, y: usize, n: usize) -> usize {
        self.node(name, Op::Binary(b, Activation::None), &[x, y], vec![1, n])
    }

    /// `x + offset - offset`: exact in f32, a loss of the low bits in f16.
    fn cancel(&mut self, name: &str, x: usize, offset: f32, n: usize) -> usize {
        let c = self.constant(&format!("{name}/offset"), vec![1], &[offset]);
        let up = self.binary(&format!("{name}/shifted"), Binary::Add, x, c, n);
        self.binary(&format!("{name}/unshifted"), Binary::Sub, up, c, n)
    }
}

/// The two-head model's `.tflite` bytes: input `x` [1, 64]; output 0 `depth`
/// [1, 64] (values in the thousands), output 1 `scores` [1, 16].
fn two_head_model() -> Vec<u8> {
    let n = 64;
    let mut g = G::default();
    let x = g.tensor(TensorInfo::new("x", DType::F32, vec![1, n]));
    let trunk = g.dense("trunk", x, n, n, Activation::ReluN1To1);
    let a = g.dense("depth/a", trunk, n, n, Activation::None);
    let a = g.cancel("depth/a", a, 3000.0, n);
    let b = g.dense("depth/b", trunk, n, n, Activation::None);
    let b = g.cancel("depth/b", b, 1500.0, n);
    let m = g.binary("depth/sum", Binary::Add, a, b, n);
    let d = g.dense("depth/d1", m, n, n, Activation::None);
    let d = g.dense("depth/d2", d, n, n, Activation::None);
    let scale = g.constant("depth/scale", vec![1], &[400.0]);
    let depth = g.binary("depth", Binary::Mul, d, scale, n);
    let s = g.dense("scores/hidden", trunk, n, 256, Activation::Relu);
    let scores = g.dense("scores", s, 256, 16, Activation::None);
    let graph = Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors: g.tensors,
            nodes: g.nodes,
            inputs: vec![x],
            outputs: vec![depth, scores],
        }],
        description: "two heads: a cancellation-sensitive regression and a classifier".into(),
        version: 3,
        ..Default::default()
    };
    tflite_wgpu::model::write(&graph).expect("the writer writes the two-head model")
}

fn fp16() -> ValidateOptions {
    ValidateOptions {
        precision_loss_allowed: true,
        ..Default::default()
    }
}

/// Nodes of the prepared graph whose first output tensor is named `name`.
fn node_named(model: &Model, name: &str) -> usize {
    let sg = Interpreter::new(model).unwrap().graph().main().clone();
    sg.nodes
        .iter()
        .position(|n| sg.tensors[n.outputs[0]].name == name)
        .unwrap_or_else(|| panic!("no node writes {name}"))
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The search keeps only nodes of the failing head in fp32, each candidate it
/// measured feeds that head, and every set it tried is a point of the table.
fn auto_mixed_promotes_only_the_failing_heads_nodes() {
    if !gpu_available() {
        return;
    }
    let model = Model::from_bytes(&two_head_model()).unwrap();
    let sg = Interpreter::new(&model).unwrap().graph().main().clone();
    let inputs = validate::random_inputs(&sg, 3, 1).unwrap();
    let plain = validate::validate(&model, &inputs, &fp16()).unwrap();
    assert!(
        !plain.outputs[0].failures.is_empty() && plain.outputs[1].failures.is_empty(),
        "fp16 should fail `depth` only: {:?}",
        plain.outputs
    );

    let (search, last) = validate::auto_mixed(&model, &inputs, &fp16()).unwrap();
    assert!(
        search.pass && last.pass() && !search.baseline_pass,
        "{search:#?}"
    );
    assert!(search.evaluations <= validate::MAX_EVALUATIONS);
    assert_eq!(search.failing_outputs, vec![0]);
    let scores_own = [
        node_named(&model, "scores/hidden"),
        node_named(&model, "scores"),
    ];
    for n in &scores_own {
        assert!(!search.fp32_nodes.contains(n), "{:?}", search.fp32_nodes);
        assert!(search.candidates.iter().all(|c| !c.nodes.contains(n)));
        assert!(search.tradeoff.iter().all(|p| !p.fp32_nodes.contains(n)));
    }
    let trunk = node_named(&model, "trunk");
    // The cancellations are what fp16 gets wrong: their ADD and SUB stay in fp32;
    // the dense layers they read are dropped from the passing set.
    for name in [
        "depth/a/shifted",
        "depth/a/unshifted",
        "depth/b/shifted",
        "depth/b/unshifted",
    ] {
        assert!(
            search.fp32_nodes.contains(&node_named(&model, name)),
            "{name} not in {:?}",
            search.fp32_nodes
        );
    }
    for name in ["depth/d1", "depth/d2", "scores/hidden"] {
        assert!(!search.fp32_nodes.contains(&node_named(&model, name)));
    }
    assert!(!search.fp32_nodes.contains(&trunk));
    assert!(search.fp32_flop_share < 0.05, "{}", search.fp32_flop_share);
    assert!(
        search.candidates.iter().all(|c| c.gain.is_some()),
        "{:#?}",
        search.candidates
    );

    // The table: the baseline, at least two more sets, a passing one at the
    // search's share, and the frontier from the baseline to it.
    let t = &search.tradeoff;
    assert!(t.len() >= 3, "{t:#?}");
    assert!(t
        .windows(2)
        .all(|w| w[0].fp32_flop_share <= w[1].fp32_flop_share));
    let base = t.iter().find(|p| p.set == "baseline").unwrap();
    assert!(!base.pass && base.fp32_nodes.is_empty() && base.frontier);
    assert!(t
        .iter()
        .any(|p| p.pass && p.frontier && p.fp32_nodes == search.fp32_nodes));
    assert!(t.iter().filter(|p| p.frontier).count() >= 3, "{t:#?}");
    // Neither cancellation alone is enough: the passing set combines units.
    assert!(t.iter().any(|p| p.pass && p.set == "greedy"), "{t:#?}");
    assert!(search
        .candidates
        .iter()
        .filter(|c| c.kind == validate::UnitKind::Chain)
        .all(|c| c.measured_max_rel_error.unwrap() > 0.02));

    let mut chosen = fp16();
    chosen.partitions.fp32_nodes = search.fp32_nodes.clone();
    assert!(validate::validate(&model, &inputs, &chosen).unwrap().pass());
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command line prints the table as text and JSON, and the plan it saves
/// makes a later fp16 validation pass.
fn cli_prints_the_tradeoff_and_saves_a_plan_that_passes() {
    if !gpu_available() {
        return;
    }
    let dir = scratch("auto-mixed");
    let model = dir.join("two_heads.tflite");
    std::fs::write(&model, two_head_model()).unwrap();
    let plan = dir.join("plan.json");
    let json = run_ok(
        cli()
            .arg("validate")
            .arg(&model)
            .args(["--auto-mixed", "--json", "--save-plan"])
            .arg(&plan),
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let search = &doc["auto_mixed"];
    assert_eq!(doc["pass"], true, "{search}");
    let points = search["tradeoff"].as_array().unwrap();
    assert!(points.len() >= 3, "{search}");
    for p in points {
        assert!(p["fp32_flop_share"].as_f64().is_some(), "{p}");
        assert!(p["worst_max_rel_error"].as_f64().is_some(), "{p}");
        assert!(p["pass"].is_boolean() && p["fp32_nodes"].is_array(), "{p}");
    }
    assert!(search["candidates"][0]["gain_per_gflop"].as_f64().is_some());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["fp32_nodes"], search["fp32_nodes"]);
    assert_eq!(saved["search"]["tradeoff"], search["tradeoff"]);

    let text = run_ok(cli().arg("validate").arg(&model).arg("--auto-mixed"));
    assert!(text.contains("trade-off"), "{text}");
    let rows = text
        .lines()
        .filter(|l| l.contains("% ") && (l.contains(" PASS ") || l.contains(" FAIL ")))
        .count();
    assert!(rows >= 3, "{text}");

    let with_plan = run_ok(
        cli()
            .arg("validate")
            .arg(&model)
            .arg("--precision-plan")
            .arg(&plan),
    );
    assert!(with_plan.trim_end().ends_with("PASS"), "{with_plan}");
    let _ = std::fs::remove_dir_all(&dir);
}

const LITERT: &str = r#"
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
model, inp, out = sys.argv[1:4]
it = Interpreter(model_path=model,
                 experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
it.set_tensor(it.get_input_details()[0]['index'], np.load(inp))
it.invoke()
for i, d in enumerate(it.get_output_details()):
    np.save(f"{out}_{i}.npy", it.get_tensor(d['index']))
"#;

/// LiteRT runs the two-head model and computes what the CPU interpreter does.
fn litert_runs_the_two_head_model() {
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch("two-heads-litert");
    let model_path = dir.join("two_heads.tflite");
    let bytes = two_head_model();
    std::fs::write(&model_path, &bytes).unwrap();
    let x = Tensor::f32(vec![1, 64], values(64, 99));
    npy::write(dir.join("in.npy"), &x).unwrap();
    let out = dir.join("out");
    let status = Command::new(&py)
        .args(["-c", LITERT])
        .arg(&model_path)
        .arg(dir.join("in.npy"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "LiteRT failed to load or run the model");
    let model = Model::from_bytes(&bytes).unwrap();
    let mut cpu = Interpreter::new(&model).unwrap();
    cpu.set_input(0, x).unwrap();
    cpu.invoke().unwrap();
    for i in 0..2 {
        let want = npy::read(Path::new(&format!("{}_{i}.npy", out.display()))).unwrap();
        let got = cpu.output(i).unwrap();
        assert_eq!(got.shape, want.shape);
        for (a, b) in got.as_f32().unwrap().iter().zip(want.as_f32().unwrap()) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "output {i}: {a} vs {b}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, auto_mixed_promotes_only_the_failing_heads_nodes),
        crate::case!(gpu, cli_prints_the_tradeoff_and_saves_a_plan_that_passes),
        crate::case!(plain, litert_runs_the_two_head_model),
    ]
}
