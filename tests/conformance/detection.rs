//! TFLite_Detection_PostProcess and NON_MAX_SUPPRESSION_V4/V5 on the CPU against
//! LiteRT (one thread, no delegates) running the same written model: counts,
//! classes and indices exactly, boxes and scores to float rounding.
//!
//! Needs a Python with `ai-edge-litert` ($TFLITE_WGPU_PYTHON or `.venv/bin/python`):
//! without one each comparison is skipped with a note, except under CI=true, where
//! that is a failure.

use crate::common;

use std::process::Command;
use std::sync::Arc;
use tflite_wgpu::graph::op::DetectionPostProcess;
use tflite_wgpu::graph::{DType, Graph, Node, Op, Quantization, Subgraph, TensorInfo};
use tflite_wgpu::{npy, Data, Interpreter, Model, Tensor};

const SCRIPT: &str = r#"
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
model, n_in, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
it = Interpreter(model_path=model, num_threads=1,
                 experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
it.allocate_tensors()
for i, det in enumerate(it.get_input_details()):
    it.set_tensor(det['index'], np.load(f"{d}/in{i}.npy"))
it.invoke()
for i, det in enumerate(it.get_output_details()):
    np.save(f"{d}/out{i}.npy", it.get_tensor(det['index']))
"#;

/// LiteRT's outputs for `bytes` on `inputs`, None (after a note) without LiteRT.
fn litert(name: &str, bytes: &[u8], inputs: &[Tensor]) -> Option<Vec<Tensor>> {
    let py = common::litert_python()?;
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-det-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.tflite"), bytes).unwrap();
    for (i, t) in inputs.iter().enumerate() {
        npy::write(dir.join(format!("in{i}.npy")), t).unwrap();
    }
    let out = Command::new(py)
        .args(["-c", SCRIPT])
        .arg(dir.join("m.tflite"))
        .arg(inputs.len().to_string())
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: LiteRT failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut outs = Vec::new();
    while let Ok(t) = npy::read(dir.join(format!("out{}.npy", outs.len()))) {
        outs.push(t);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(outs)
}

fn ours(bytes: &[u8], inputs: &[Tensor]) -> Vec<Tensor> {
    let model = Model::from_bytes(bytes).expect("reads");
    let mut it = Interpreter::new(&model).expect("prepares");
    for (i, t) in inputs.iter().enumerate() {
        it.set_input(i, t.clone()).expect("input");
    }
    it.invoke().expect("invokes");
    (0..it.num_outputs())
        .map(|i| it.output(i).unwrap().clone())
        .collect()
}

/// A deterministic value stream in [0, 1).
struct Lcg(tflite_wgpu::graph::rng::SeededRng);

impl Lcg {
    fn new(seed: u64) -> Lcg {
        Lcg(tflite_wgpu::graph::rng::SeededRng::new(seed))
    }
    fn next(&mut self) -> f32 {
        self.0.unit() as f32
    }
}

fn bytes_of(d: &Data) -> Arc<[u8]> {
    d.to_bytes().into()
}

fn info(name: &str, dtype: DType, shape: Vec<usize>, q: Option<(f32, i64)>) -> TensorInfo {
    TensorInfo {
        quantization: q.map(|(s, z)| Quantization::per_tensor(s, z)),
        ..TensorInfo::new(name, dtype, shape)
    }
}

fn graph(
    tensors: Vec<TensorInfo>,
    op: Op,
    ins: Vec<usize>,
    outs: Vec<usize>,
    graph_ins: Vec<usize>,
) -> Vec<u8> {
    let g = Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes: vec![Node {
                op,
                inputs: ins.into_iter().map(Some).collect(),
                outputs: outs.clone(),
            }],
            inputs: graph_ins,
            outputs: outs,
        }],
        version: 3,
        ..Default::default()
    };
    tflite_wgpu::model::write(&g).expect("writes")
}

/// One detection case: options, boxes, score columns, and how scores are drawn.
struct Case {
    name: &'static str,
    p: DetectionPostProcess,
    boxes: usize,
    columns: usize,
    /// Scores drawn from this many levels (ties) instead of continuously.
    levels: Option<u32>,
    uint8: bool,
}

fn options() -> DetectionPostProcess {
    DetectionPostProcess {
        max_detections: 10,
        max_classes_per_detection: 1,
        detections_per_class: 100,
        use_regular_nms: false,
        nms_score_threshold: 0.3,
        nms_iou_threshold: 0.5,
        num_classes: 4,
        y_scale: 10.0,
        x_scale: 10.0,
        h_scale: 5.0,
        w_scale: 5.0,
    }
}

/// The model and its inputs: box encodings and scores are graph inputs, the
/// anchors (a jittered grid whose neighbours overlap) a constant.
fn build(c: &Case) -> (Vec<u8>, Vec<Tensor>) {
    let mut r = Lcg::new(c.name.len() as u64 * 7919 + c.boxes as u64);
    let n = c.boxes;
    let mut enc = Vec::new();
    let mut anchors = Vec::new();
    for b in 0..n {
        let (gy, gx) = ((b / 4) as f32, (b % 4) as f32);
        anchors.extend([0.1 + 0.2 * gy + 0.05 * r.next(), 0.1 + 0.2 * gx, 0.3, 0.3]);
        enc.extend([
            (r.next() - 0.5) * 4.0,
            (r.next() - 0.5) * 4.0,
            (r.next() - 0.5) * 2.0,
            (r.next() - 0.5) * 2.0,
        ]);
    }
    let scores: Vec<f32> = (0..n * c.columns)
        .map(|_| match c.levels {
            Some(l) => ((r.next() * l as f32).floor() + 1.0) / (l as f32 + 1.0),
            None => r.next(),
        })
        .collect();
    let (bq, sq, aq) = ((0.05f32, 128i64), (1.0f32 / 255.0, 0i64), (0.005f32, 0i64));
    let quant = |v: &[f32], (s, z): (f32, i64)| -> Vec<u8> {
        v.iter()
            .map(|x| ((x / s).round() as i64 + z).clamp(0, 255) as u8)
            .collect()
    };
    let (dt, q) = if c.uint8 {
        (DType::U8, true)
    } else {
        (DType::F32, false)
    };
    let qp = |p: (f32, i64)| q.then_some(p);
    let (enc_t, score_t, anchor_d) = if c.uint8 {
        (
            Tensor::new(vec![1, n, 4], Data::U8(quant(&enc, bq))),
            Tensor::new(vec![1, n, c.columns], Data::U8(quant(&scores, sq))),
            Data::U8(quant(&anchors, aq)),
        )
    } else {
        (
            Tensor::new(vec![1, n, 4], Data::F32(enc)),
            Tensor::new(vec![1, n, c.columns], Data::F32(scores)),
            Data::F32(anchors),
        )
    };
    let rows = c.p.output_rows().unwrap();
    let tensors = vec![
        info("boxes", dt, vec![1, n, 4], qp(bq)),
        info("scores", dt, vec![1, n, c.columns], qp(sq)),
        TensorInfo {
            data: Some(bytes_of(&anchor_d)),
            ..info("anchors", dt, vec![n, 4], qp(aq))
        },
        info("det_boxes", DType::F32, vec![1, rows, 4], None),
        info("det_classes", DType::F32, vec![1, rows], None),
        info("det_scores", DType::F32, vec![1, rows], None),
        info("num", DType::F32, vec![1], None),
    ];
    let bytes = graph(
        tensors,
        Op::DetectionPostProcess(c.p),
        vec![0, 1, 2],
        vec![3, 4, 5, 6],
        vec![0, 1],
    );
    (bytes, vec![enc_t, score_t])
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + b.abs())
}

fn check_detection(c: Case) {
    let (bytes, inputs) = build(&c);
    let got = ours(&bytes, &inputs);
    let count = got[3].as_f32().unwrap()[0] as usize;
    assert!(
        count > 0,
        "{}: nothing detected, the case tests nothing",
        c.name
    );
    let Some(want) = litert(c.name, &bytes, &inputs) else {
        return;
    };
    assert_eq!(
        got[3].as_f32(),
        want[3].as_f32(),
        "{}: num_detections",
        c.name
    );
    let per = c.p.max_classes_per_detection as usize;
    let written: Vec<usize> = if c.p.use_regular_nms {
        (0..count).collect()
    } else {
        let k = per.min(c.p.num_classes as usize);
        (0..count)
            .flat_map(|d| (0..k).map(move |j| d * per + j))
            .collect()
    };
    for (t, name) in [(0, "boxes"), (1, "classes"), (2, "scores")] {
        assert_eq!(got[t].shape, want[t].shape, "{}: {name} shape", c.name);
    }
    let (gb, wb) = (got[0].as_f32().unwrap(), want[0].as_f32().unwrap());
    let (gc, wc) = (got[1].as_f32().unwrap(), want[1].as_f32().unwrap());
    let (gs, ws) = (got[2].as_f32().unwrap(), want[2].as_f32().unwrap());
    for &r in &written {
        assert_eq!(gc[r], wc[r], "{}: class of row {r}", c.name);
        assert!(
            close(gs[r], ws[r]),
            "{}: score of row {r}: {} vs {}",
            c.name,
            gs[r],
            ws[r]
        );
        for k in 0..4 {
            let (a, b) = (gb[r * 4 + k], wb[r * 4 + k]);
            assert!(close(a, b), "{}: box {r}[{k}]: {a} vs {b}", c.name);
        }
    }
}

fn fast_nms_one_class_per_box_with_background() {
    check_detection(Case {
        name: "fast_bg",
        p: options(),
        boxes: 24,
        columns: 5,
        levels: None,
        uint8: false,
    });
}

fn fast_nms_several_classes_per_box_max_detections_binding() {
    check_detection(Case {
        name: "fast_multi",
        p: DetectionPostProcess {
            max_detections: 3,
            max_classes_per_detection: 3,
            nms_score_threshold: 0.1,
            num_classes: 5,
            ..options()
        },
        boxes: 24,
        columns: 5,
        levels: None,
        uint8: false,
    });
}

fn fast_nms_more_classes_per_box_than_classes() {
    check_detection(Case {
        name: "fast_gaps",
        p: DetectionPostProcess {
            max_classes_per_detection: 4,
            num_classes: 2,
            ..options()
        },
        boxes: 16,
        columns: 3,
        levels: None,
        uint8: false,
    });
}

fn regular_nms_per_class_with_background() {
    check_detection(Case {
        name: "regular_bg",
        p: DetectionPostProcess {
            use_regular_nms: true,
            detections_per_class: 3,
            max_detections: 7,
            ..options()
        },
        boxes: 24,
        columns: 5,
        levels: None,
        uint8: false,
    });
}

fn regular_nms_without_background_high_threshold() {
    check_detection(Case {
        name: "regular_nobg",
        p: DetectionPostProcess {
            use_regular_nms: true,
            detections_per_class: 50,
            max_detections: 5,
            nms_score_threshold: 0.6,
            nms_iou_threshold: 0.3,
            ..options()
        },
        boxes: 32,
        columns: 4,
        levels: None,
        uint8: false,
    });
}

fn ties_in_scores_resolve_as_in_litert() {
    for (name, regular, per) in [
        ("ties_fast", false, 1),
        ("ties_fast3", false, 3),
        ("ties_regular", true, 1),
    ] {
        check_detection(Case {
            name,
            p: DetectionPostProcess {
                use_regular_nms: regular,
                max_classes_per_detection: per,
                detections_per_class: 4,
                max_detections: 8,
                nms_score_threshold: 0.2,
                ..options()
            },
            boxes: 24,
            columns: 5,
            levels: Some(3),
            uint8: false,
        });
    }
}

fn uint8_inputs_are_dequantized_as_in_litert() {
    for (name, regular) in [("u8_fast", false), ("u8_regular", true)] {
        check_detection(Case {
            name,
            p: DetectionPostProcess {
                use_regular_nms: regular,
                ..options()
            },
            boxes: 20,
            columns: 5,
            levels: None,
            uint8: true,
        });
    }
}

/// NON_MAX_SUPPRESSION_V4 (sigma None) or V5 over `n` random boxes (corners in
/// either order) with max_output_size `max_out`.
fn check_nms(name: &str, n: usize, max_out: i32, sigma: Option<f32>, levels: Option<u32>) {
    let mut r = Lcg::new(name.len() as u64 * 31 + n as u64);
    let mut boxes = Vec::new();
    for _ in 0..n {
        let (y, x) = (r.next(), r.next());
        let (h, w) = (0.1 + 0.3 * r.next(), 0.1 + 0.3 * r.next());
        if r.next() < 0.3 {
            boxes.extend([y + h, x + w, y, x]);
        } else {
            boxes.extend([y, x, y + h, x + w]);
        }
    }
    let scores: Vec<f32> = (0..n)
        .map(|_| match levels {
            Some(l) => ((r.next() * l as f32).floor() + 1.0) / (l as f32 + 1.0),
            None => r.next(),
        })
        .collect();
    let scalar = |name: &str, d: Data| TensorInfo {
        data: Some(bytes_of(&d)),
        ..info(name, d.dtype(), vec![], None)
    };
    let m = max_out as usize;
    let mut tensors = vec![
        info("boxes", DType::F32, vec![n, 4], None),
        info("scores", DType::F32, vec![n], None),
        scalar("max_out", Data::I32(vec![max_out])),
        scalar("iou", Data::F32(vec![0.4])),
        scalar("score", Data::F32(vec![0.15])),
    ];
    let (op, ins, outs) = match sigma {
        Some(s) => {
            tensors.push(scalar("sigma", Data::F32(vec![s])));
            tensors.push(info("indices", DType::I32, vec![m], None));
            tensors.push(info("kept", DType::F32, vec![m], None));
            tensors.push(info("count", DType::I32, vec![], None));
            (
                Op::NonMaxSuppressionV5,
                vec![0, 1, 2, 3, 4, 5],
                vec![6, 7, 8],
            )
        }
        None => {
            tensors.push(info("indices", DType::I32, vec![m], None));
            tensors.push(info("count", DType::I32, vec![], None));
            (Op::NonMaxSuppressionV4, vec![0, 1, 2, 3, 4], vec![5, 6])
        }
    };
    let bytes = graph(tensors, op, ins, outs, vec![0, 1]);
    let inputs = vec![
        Tensor::new(vec![n, 4], Data::F32(boxes)),
        Tensor::new(vec![n], Data::F32(scores)),
    ];
    let got = ours(&bytes, &inputs);
    let count = got.last().unwrap().data.to_i64()[0];
    assert!(count > 1, "{name}: selected {count}, the case tests little");
    let Some(want) = litert(name, &bytes, &inputs) else {
        return;
    };
    assert_eq!(got.len(), want.len());
    assert_eq!(
        got.last().unwrap().data.to_i64(),
        want.last().unwrap().data.to_i64(),
        "{name}: count"
    );
    assert_eq!(got[0].shape, want[0].shape, "{name}: indices shape");
    assert_eq!(
        got[0].data.to_i64(),
        want[0].data.to_i64(),
        "{name}: indices"
    );
    if sigma.is_some() {
        let (g, w) = (got[1].as_f32().unwrap(), want[1].as_f32().unwrap());
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(close(*a, *b), "{name}: score {i}: {a} vs {b}");
        }
    }
}

fn nms_v4_pads_to_max_output_size() {
    check_nms("v4_pad", 12, 20, None, None);
}

fn nms_v4_max_output_size_binding() {
    check_nms("v4_cut", 40, 5, None, None);
}

fn nms_v5_sigma_zero_is_hard_nms() {
    check_nms("v5_hard", 30, 10, Some(0.0), None);
}

fn nms_v5_soft_sigma_decays_scores() {
    check_nms("v5_soft", 30, 12, Some(0.5), None);
}

fn nms_ties_resolve_as_in_litert() {
    check_nms("v4_ties", 40, 15, None, Some(3));
    check_nms("v5_ties", 40, 15, Some(0.3), Some(3));
}

/// On the GPU the box decoding joins the partition of the ADD that produces the
/// encodings and the NMS stays on the CPU; the outputs are the CPU interpreter's
/// (counts and classes exactly, boxes and scores to f32 rounding of exp).
fn box_decoding_runs_on_the_gpu_after_its_producer() {
    use tflite_wgpu::graph::op::{Activation, Binary};
    use tflite_wgpu::{Device, Options};
    if !common::gpu::gpu_available() {
        return;
    }
    for (name, regular) in [("gpu_fast", false), ("gpu_regular", true)] {
        let c = Case {
            name,
            p: DetectionPostProcess {
                use_regular_nms: regular,
                max_detections: 6,
                ..options()
            },
            boxes: 64,
            columns: 5,
            levels: None,
            uint8: false,
        };
        let (bytes, inputs) = build(&c);
        // x -> ADD(bias) -> box encodings -> TFLite_Detection_PostProcess
        let mut g = Model::from_bytes(&bytes).unwrap().graph().clone();
        let sg = &mut g.subgraphs[0];
        let bias = [0.25f32, -0.5, 0.125, 0.0];
        let x = sg.tensors.len();
        sg.tensors
            .push(info("x", DType::F32, vec![1, c.boxes, 4], None));
        sg.tensors.push(TensorInfo {
            data: Some(bytes_of(&Data::F32(bias.to_vec()))),
            ..info("bias", DType::F32, vec![4], None)
        });
        sg.nodes.insert(
            0,
            Node {
                op: Op::Binary(Binary::Add, Activation::None),
                inputs: vec![Some(x), Some(x + 1)],
                outputs: vec![0],
            },
        );
        sg.inputs = vec![x, 1];
        let model = Model::from_graph(g);
        let run = |device| {
            let opts = Options {
                device,
                ..Default::default()
            };
            let mut it = Interpreter::with_options(&model, opts).unwrap();
            it.set_input(0, inputs[0].clone()).unwrap();
            it.set_input(1, inputs[1].clone()).unwrap();
            it.invoke().unwrap();
            let outs: Vec<Tensor> = (0..4).map(|i| it.output(i).unwrap().clone()).collect();
            (outs, it.delegate_report().map(|r| r.plan.clone()))
        };
        let (cpu, _) = run(Device::Cpu);
        let (gpu, plan) = run(Device::Gpu);
        let plan = plan.unwrap();
        assert_eq!(plan.partitions.len(), 1, "{name}: {plan:?}");
        assert_eq!(
            plan.partitions[0].nodes,
            vec![0, 1],
            "{name}: ADD and the decode"
        );
        assert_eq!(
            plan.fallback.iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![2],
            "{name}: the NMS stays on the CPU"
        );
        let count = cpu[3].as_f32().unwrap()[0];
        assert!(count >= 3.0, "{name}: {count} detections test little");
        assert_eq!(gpu[3].as_f32(), cpu[3].as_f32(), "{name}: count");
        assert_eq!(gpu[1].as_f32(), cpu[1].as_f32(), "{name}: classes");
        for t in [0, 2] {
            for (a, b) in gpu[t]
                .as_f32()
                .unwrap()
                .iter()
                .zip(cpu[t].as_f32().unwrap())
            {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{name}: {a} vs {b}"
                );
            }
        }
    }
}

/// Options LiteRT refuses are errors naming the node and the option, not panics.
fn invalid_options_are_errors_naming_the_option() {
    let cases = [
        (
            "nms_iou_threshold",
            DetectionPostProcess {
                nms_iou_threshold: 0.0,
                ..options()
            },
        ),
        (
            "num_classes",
            DetectionPostProcess {
                num_classes: -1,
                ..options()
            },
        ),
        (
            "num_classes",
            DetectionPostProcess {
                num_classes: 9,
                ..options()
            },
        ),
        (
            "detections_per_class",
            DetectionPostProcess {
                use_regular_nms: true,
                detections_per_class: 0,
                ..options()
            },
        ),
        (
            "max_classes_per_detection",
            DetectionPostProcess {
                max_classes_per_detection: 0,
                max_detections: 3,
                ..options()
            },
        ),
    ];
    for (what, p) in cases {
        let c = Case {
            name: "invalid",
            p,
            boxes: 8,
            columns: 5,
            levels: None,
            uint8: false,
        };
        let (bytes, inputs) = build(&c);
        let model = Model::from_bytes(&bytes).expect("reads");
        let err = Interpreter::new(&model).and_then(|mut it| {
            for (i, t) in inputs.iter().enumerate() {
                it.set_input(i, t.clone())?;
            }
            it.invoke()
        });
        let msg = err.expect_err(what).to_string();
        assert!(
            msg.contains(what) && msg.contains("TFLite_Detection_PostProcess"),
            "{what}: {msg}"
        );
    }
}

/// Mutants of a detection model, most of them inside its flexbuffer options,
/// load and run or fail with an error; none panics.
fn mutated_options_never_panic() {
    use common::mutate::{mutate, Rng};
    let c = Case {
        name: "mutants",
        p: DetectionPostProcess {
            use_regular_nms: true,
            ..options()
        },
        boxes: 8,
        columns: 5,
        levels: None,
        uint8: false,
    };
    let (bytes, inputs) = build(&c);
    // The options are the flexbuffer map ending in the root's type and width
    // bytes: find them by their first key.
    let key = b"detections_per_class\0";
    let start = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the options are in the model");
    let len = 400.min(bytes.len() - start);
    let mut rng = Rng::new(0x5eed_d37e_c710_0001);
    let mut ran = 0;
    for k in 0..600 {
        let mutant = if k % 4 == 0 {
            mutate(&bytes, &mut rng)
        } else {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let i = start + rng.below(len);
                b[i] = [0u8, 1, 0x7f, 0x80, 0xff, rng.next_u64() as u8][rng.below(6)];
            }
            b
        };
        let Ok(model) = Model::from_bytes(&mutant) else {
            continue;
        };
        let Ok(mut it) = Interpreter::new(&model) else {
            continue;
        };
        if inputs
            .iter()
            .enumerate()
            .all(|(i, t)| it.set_input(i, t.clone()).is_ok())
            && it.invoke().is_ok()
        {
            ran += 1;
        }
    }
    assert!(ran > 0, "no mutant ran: the mutations test only the reader");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, fast_nms_one_class_per_box_with_background),
        crate::case!(
            plain,
            fast_nms_several_classes_per_box_max_detections_binding
        ),
        crate::case!(plain, fast_nms_more_classes_per_box_than_classes),
        crate::case!(plain, regular_nms_per_class_with_background),
        crate::case!(plain, regular_nms_without_background_high_threshold),
        crate::case!(plain, ties_in_scores_resolve_as_in_litert),
        crate::case!(plain, uint8_inputs_are_dequantized_as_in_litert),
        crate::case!(plain, nms_v4_pads_to_max_output_size),
        crate::case!(plain, nms_v4_max_output_size_binding),
        crate::case!(plain, nms_v5_sigma_zero_is_hard_nms),
        crate::case!(plain, nms_v5_soft_sigma_decays_scores),
        crate::case!(plain, nms_ties_resolve_as_in_litert),
        crate::case!(gpu, box_decoding_runs_on_the_gpu_after_its_producer),
        crate::case!(plain, invalid_options_are_errors_naming_the_option),
        crate::case!(plain, mutated_options_never_panic),
    ]
}
