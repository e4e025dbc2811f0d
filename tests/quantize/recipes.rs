//! `quantize --recipe`: each field of an AI Edge Quantizer recipe shows in the
//! written file's quantization parameters (bit width, granularity, mode, op and
//! output-name matching, no_quantize, float casting, symmetric activations,
//! min_weight_elements), and every file loads and runs in LiteRT with outputs
//! close to the float model's, and in the CPU interpreter with outputs close to
//! LiteRT's. What LiteRT cannot run is refused with the op named.
//!
//! The models are MobileNetV2 0.35/128 (100 classes: FULLY_CONNECTED [100,
//! 1280]) and a dense layer with a fused RELU. LiteRT runs each file with its
//! reference kernels and through XNNPACK, and blockwise files (which only
//! LiteRT's optimized kernels implement) with its optimized builtin kernels and
//! through XNNPACK.

use crate::recipe_check::*;
use std::path::{Path, PathBuf};
use tflite_wgpu::graph::Op;
use tflite_wgpu::quantize::{Mode, Recipe};
use tflite_wgpu::DType;

/// num_bits 4: INT4 weights packed two a byte, levels in [-7, 7] reaching 7 in
/// every channel; num_bits 8: INT8. Dynamic mode on the last 1x1 convolution
/// and the classifier.
fn bit_width_sets_the_weight_type_and_its_packing() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    for bits in [4u32, 8] {
        let config = dynamic_config(&weights(bits, "CHANNELWISE", true));
        let q = quantize_with(
            &shared,
            MOBILENET,
            Mode::Recipe,
            &[
                entry(".*", "FULLY_CONNECTED", &config),
                entry("Conv_1", "CONV_2D", &config),
            ],
            &format!("bits{bits}"),
        )
        .unwrap();
        let picked = [
            nodes(&q.sg, "FULLY_CONNECTED", ""),
            nodes(&q.sg, "CONV_2D", "Conv_1"),
        ]
        .concat();
        assert_eq!(picked.len(), 2);
        for node in picked {
            let (w, behind) = weight(&q.sg, node);
            assert!(!behind, "{}: dynamic weights are read directly", w.name);
            let n = w.num_elements();
            let (dtype, bytes, top) = match bits {
                4 => (DType::Int4, n.div_ceil(2), 7),
                _ => (DType::I8, n, 127),
            };
            assert_eq!(w.dtype, dtype, "{}", w.name);
            assert_eq!(w.data.as_deref().unwrap().len(), bytes, "{}", w.name);
            let l = levels(w);
            let per = n / w.shape[0];
            for c in 0..w.shape[0] {
                let m = l[c * per..(c + 1) * per]
                    .iter()
                    .map(|v| v.unsigned_abs())
                    .max();
                assert_eq!(m, Some(top), "{} channel {c}", w.name);
            }
        }
        // The other convolutions and the depthwise ones stay float.
        let others = nodes(&q.sg, "CONV_2D", "block_16_project");
        assert_eq!(weight(&q.sg, others[0]).0.dtype, DType::F32);
        check_runs(&q, REF_AND_XNNPACK, 0.99, true);
        done(q);
    }
}

/// TENSORWISE: one scale; CHANNELWISE: one per output channel along the op's
/// channel axis (0 for CONV_2D and FULLY_CONNECTED, 3 for DEPTHWISE_CONV_2D).
fn granularity_sets_the_number_of_scales() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    for g in ["TENSORWISE", "CHANNELWISE"] {
        let config = weight_only_config(&weights(8, g, true));
        // The weights of blocks 13 to 16, where one scale per tensor keeps the
        // output close.
        let ops = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"];
        let entries = [
            entry("block_1[3-6]_", "CONV_2D", &config),
            entry("block_1[3-6]_", "DEPTHWISE_CONV_2D", &config),
            entry(".*", "FULLY_CONNECTED", &config),
        ];
        let q = quantize_with(
            &shared,
            MOBILENET,
            Mode::Recipe,
            &entries,
            &g.to_lowercase(),
        )
        .unwrap();
        let mut seen = 0;
        for op in ops {
            let name = if op == "FULLY_CONNECTED" {
                ""
            } else {
                "block_1"
            };
            for node in nodes(&q.sg, op, name) {
                let out = &q.sg.tensors[node.outputs[0]].name;
                if op != "FULLY_CONNECTED"
                    && !(13..=16).any(|b| out.contains(&format!("block_{b}_")))
                {
                    assert_eq!(weight(&q.sg, node).0.dtype, DType::F32, "{out}");
                    continue;
                }
                seen += 1;
                let (w, _) = weight(&q.sg, node);
                let p = w.quantization.as_ref().unwrap();
                let axis = if op == "DEPTHWISE_CONV_2D" { 3 } else { 0 };
                match g {
                    "TENSORWISE" => assert_eq!(p.scale.len(), 1, "{}", w.name),
                    _ => {
                        assert_eq!(p.scale.len(), w.shape[axis], "{}", w.name);
                        assert_eq!(p.axis, axis, "{}", w.name);
                    }
                }
            }
        }
        assert_eq!(seen, 4 * 3 + 1);
        check_runs(&q, REF_AND_XNNPACK, 0.99, true);
        done(q);
    }
}

/// BLOCKWISE_32 on the classifier: INT4 weights with BlockwiseQuantization
/// details, block size 32 and a float16 scales tensor [100, 1280 / 32], run by
/// LiteRT's optimized kernels and XNNPACK.
fn blockwise_stores_float16_block_scales() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let config = dynamic_config(&weights(4, "BLOCKWISE_32", true));
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[entry(".*", "FULLY_CONNECTED", &config)],
        "blockwise",
    )
    .unwrap();
    let fc = nodes(&q.sg, "FULLY_CONNECTED", "");
    let (w, behind) = weight(&q.sg, fc[0]);
    assert!(!behind);
    assert_eq!((w.dtype, w.shape.clone()), (DType::Int4, vec![100, 1280]));
    let p = w.quantization.as_ref().unwrap();
    let block = p.block.expect("blockwise details");
    assert_eq!(block.size, 32);
    let scales = &q.sg.tensors[block.scales];
    assert_eq!(
        (scales.dtype, scales.shape.clone()),
        (DType::F16, vec![100, 40])
    );
    assert_eq!(p.scale.len(), 100 * 40);
    // Each block reaches the largest level.
    let l = levels(w);
    for b in 0..100 * 40 {
        let m = l[b * 32..(b + 1) * 32]
            .iter()
            .map(|v| v.unsigned_abs())
            .max();
        assert_eq!(m, Some(7), "block {b}");
    }
    check_runs(&q, OPTIMIZED_AND_XNNPACK, 0.99, true);
    done(q);
}

/// What LiteRT cannot run is refused with the op named: blockwise weights
/// behind DEQUANTIZE, on CONV_2D, or on a FULLY_CONNECTED with a fused
/// activation (the builtin blockwise kernel leaves it out); int4 or per-tensor
/// weights in the hybrid DEPTHWISE_CONV_2D kernel; asymmetric weights in dynamic
/// mode; 16-bit activations. An entry
/// for every op passes over the ops it cannot apply to instead.
fn what_litert_cannot_run_is_refused_naming_the_op() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let refused = |model: &str, entries: &[String], says: &[&str]| {
        let e = quantize_with(&shared, model, Mode::Recipe, entries, "refused")
            .err()
            .unwrap_or_else(|| panic!("{entries:?} was accepted"))
            .to_string();
        for s in says {
            assert!(e.contains(s), "{entries:?}: {e}");
        }
    };
    let block = weights(4, "BLOCKWISE_32", true);
    refused(
        MOBILENET,
        &[entry(".*", "FULLY_CONNECTED", &weight_only_config(&block))],
        &["FULLY_CONNECTED", "DEQUANTIZE"],
    );
    refused(
        MOBILENET,
        &[entry(".*", "CONV_2D", &dynamic_config(&block))],
        &["CONV_2D", "blockwise"],
    );
    refused(
        DENSE_RELU,
        &[entry(".*", "FULLY_CONNECTED", &dynamic_config(&block))],
        &["FULLY_CONNECTED", "Relu"],
    );
    refused(
        MOBILENET,
        &[entry(
            ".*",
            "DEPTHWISE_CONV_2D",
            &dynamic_config(&weights(4, "CHANNELWISE", true)),
        )],
        &["DEPTHWISE_CONV_2D", "int4"],
    );
    refused(
        MOBILENET,
        &[entry(
            ".*",
            "CONV_2D",
            &dynamic_config(&weights(8, "CHANNELWISE", false)),
        )],
        &["CONV_2D", "symmetric"],
    );
    refused(
        MOBILENET,
        &[entry(
            ".*",
            "DEPTHWISE_CONV_2D",
            &dynamic_config(&weights(8, "TENSORWISE", true)),
        )],
        &["DEPTHWISE_CONV_2D", "per-channel"],
    );
    let a16 = r#"[{"op_config": {"activation_tensor_config": {"num_bits": 16},
        "weight_tensor_config": {"num_bits": 8}, "compute_precision": "INTEGER"}}]"#;
    let e = Recipe::parse(a16, "a16.json").unwrap_err().to_string();
    assert!(e.contains("int16x8"), "{e}");
    // For every op, the int4 dynamic entry passes over DEPTHWISE_CONV_2D.
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[entry(
            ".*",
            "*",
            &dynamic_config(&weights(4, "CHANNELWISE", true)),
        )],
        "wildcard",
    )
    .unwrap();
    let dw = nodes(&q.sg, "DEPTHWISE_CONV_2D", "");
    assert!(dw.iter().all(|n| weight(&q.sg, n).0.dtype == DType::F32));
    assert!(nodes(&q.sg, "CONV_2D", "")
        .iter()
        .all(|n| weight(&q.sg, n).0.dtype == DType::Int4));
    done(q);
}

/// Weight-only: weights behind DEQUANTIZE (asymmetric: with zero points), no
/// quantized activation anywhere.
fn weight_only_keeps_every_activation_float() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let config = weight_only_config(&weights(4, "CHANNELWISE", false));
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[
            entry("Conv_1", "CONV_2D", &config),
            entry(".*", "FULLY_CONNECTED", &config),
        ],
        "weight_only",
    )
    .unwrap();
    for t in q.sg.tensors.iter().filter(|t| !t.is_constant()) {
        assert_eq!(t.dtype, DType::F32, "{}", t.name);
        assert!(t.quantization.is_none(), "{}", t.name);
    }
    let convs = nodes(&q.sg, "CONV_2D", "Conv_1");
    assert_eq!(convs.len(), 1);
    let mut zero_points = 0;
    for node in convs.iter().chain(&nodes(&q.sg, "FULLY_CONNECTED", "")) {
        let (w, behind) = weight(&q.sg, node);
        assert!(behind && w.dtype == DType::Int4, "{}", w.name);
        let p = w.quantization.as_ref().unwrap();
        zero_points += p.zero_point.iter().filter(|&&z| z != 0).count();
    }
    assert!(zero_points > 0, "asymmetric weights have zero points");
    check_runs(&q, REF_AND_XNNPACK, 0.99, true);
    done(q);
}

/// Dynamic: quantized weights read directly by the hybrid kernels (which
/// quantize their float inputs asymmetrically), float activations.
fn dynamic_reads_quantized_weights_directly() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    // As the converter's dynamic-range form: weights under 1024 elements stay
    // float.
    let config = r#"{"weight_tensor_config": {"num_bits": 8, "granularity": "CHANNELWISE"},
        "compute_precision": "INTEGER", "min_weight_elements": 1024}"#;
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[entry(".*", "*", config)],
        "dynamic",
    )
    .unwrap();
    assert!(q.sg.nodes.iter().all(|n| n.op != Op::Dequantize));
    for node in q.sg.nodes.iter() {
        if let Op::FullyConnected(f) = &node.op {
            assert!(f.asymmetric_quantize_inputs);
        }
        if ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"].contains(&node.op.name()) {
            let w = weight(&q.sg, node).0;
            let want = if w.num_elements() < 1024 {
                DType::F32
            } else {
                DType::I8
            };
            assert_eq!(w.dtype, want, "{}", w.name);
        }
        assert!(activations(&q.sg, node)
            .iter()
            .all(|t| t.dtype == DType::F32));
    }
    check_runs(&q, REF_AND_XNNPACK, 0.99, true);
    done(q);
}

/// Static: int8 activations; symmetric activations have zero point 0; int4
/// weights of the last convolution and the classifier, the convolution's int32
/// bias at input scale x weight scale.
fn static_quantizes_activations_with_the_asked_weights() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[
            entry(
                ".*",
                "*",
                &static_config(&weights(8, "CHANNELWISE", true), true),
            ),
            entry(
                "Conv_1",
                "CONV_2D",
                &static_config(&weights(4, "CHANNELWISE", true), true),
            ),
            entry(
                ".*",
                "FULLY_CONNECTED",
                &static_config(&weights(4, "CHANNELWISE", true), true),
            ),
        ],
        "static",
    )
    .unwrap();
    for op in ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "FULLY_CONNECTED"] {
        for node in nodes(&q.sg, op, "") {
            for t in activations(&q.sg, node) {
                assert_eq!(t.dtype, DType::I8, "{op} {}", t.name);
                let p = t.quantization.as_ref().unwrap();
                assert_eq!(p.zero_point, vec![0], "{op} {}: symmetric", t.name);
            }
        }
    }
    let fc = nodes(&q.sg, "FULLY_CONNECTED", "")[0];
    assert_eq!(weight(&q.sg, fc).0.dtype, DType::Int4);
    let conv = nodes(&q.sg, "CONV_2D", "Conv_1")[0];
    let (w, _) = weight(&q.sg, conv);
    assert_eq!(w.dtype, DType::Int4);
    let ws = w.quantization.as_ref().unwrap();
    let x = &q.sg.tensors[conv.inputs[0].unwrap()];
    let b = &q.sg.tensors[conv.inputs[2].unwrap()];
    assert_eq!(b.dtype, DType::I32);
    let bs = b.quantization.as_ref().unwrap();
    let xs = x.quantization.as_ref().unwrap().scale[0];
    for c in 0..w.shape[0] {
        let want = xs * ws.scale[c];
        assert!((bs.scale[c] - want).abs() <= want * 1e-6, "bias scale {c}");
    }
    assert!(
        q.report.float_nodes.is_empty(),
        "{:?}",
        q.report.float_nodes
    );
    check_runs(&q, REF_AND_XNNPACK, 0.9, true);
    done(q);
}

/// Entries match by op type and by a regex over output names, later ones win,
/// and modes mix in one file: static int8 everywhere, then the classifier
/// dynamic with blockwise int4 weights, the convolutions of blocks 10 to 16
/// weight-only, and block 16 kept float (no_quantize).
fn entries_mix_modes_by_op_and_name_and_later_ones_win() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[
            entry(
                ".*",
                "*",
                &static_config(&weights(8, "CHANNELWISE", true), false),
            ),
            entry(
                ".*",
                "FULLY_CONNECTED",
                &dynamic_config(&weights(4, "BLOCKWISE_64", true)),
            ),
            entry(
                "block_1[0-6]_",
                "CONV_2D",
                &weight_only_config(&weights(8, "CHANNELWISE", false)),
            ),
            r#"{"regex": "block_16_", "operation": "*", "algorithm_key": "no_quantize"}"#.into(),
        ],
        "mixed",
    )
    .unwrap();
    let fc = nodes(&q.sg, "FULLY_CONNECTED", "")[0];
    let (w, behind) = weight(&q.sg, fc);
    assert!(!behind && w.quantization.as_ref().unwrap().block.unwrap().size == 64);
    for node in nodes(&q.sg, "CONV_2D", "block_1") {
        let name = &q.sg.tensors[node.outputs[0]].name;
        let (w, behind) = weight(&q.sg, node);
        if name.contains("block_16_") {
            assert_eq!(w.dtype, DType::F32, "{name}: no_quantize");
        } else if [
            "block_10_",
            "block_11_",
            "block_12_",
            "block_13_",
            "block_14_",
            "block_15_",
        ]
        .iter()
        .any(|b| name.contains(b))
        {
            assert!(behind && w.dtype == DType::I8, "{name}: weight-only");
        } else {
            assert!(!behind && w.dtype == DType::I8, "{name}: static");
            assert!(activations(&q.sg, node)
                .iter()
                .all(|t| t.dtype == DType::I8));
        }
    }
    for node in nodes(&q.sg, "DEPTHWISE_CONV_2D", "block_16_") {
        assert!(activations(&q.sg, node)
            .iter()
            .all(|t| t.dtype == DType::F32));
    }
    check_runs(&q, OPTIMIZED_AND_XNNPACK, 0.9, false);
    done(q);
}

/// The recipe refines `--mode`: nodes no entry matches keep the mode's
/// default (here dynamic-int8), no_quantize keeps the matched ones float.
fn no_quantize_keeps_nodes_float_over_the_mode() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::DynamicInt8,
        &[
            r#"{"regex": "block_1[0-6]_", "operation": "CONV_2D", "algorithm_key": "no_quantize"}"#
                .into(),
        ],
        "no_quantize",
    )
    .unwrap();
    assert_eq!(q.report.mode, "dynamic-int8+recipe");
    let mut kept = 0;
    for node in nodes(&q.sg, "CONV_2D", "") {
        let name = &q.sg.tensors[node.outputs[0]].name;
        let (w, _) = weight(&q.sg, node);
        let block = (10..=16).any(|b| name.contains(&format!("block_{b}_")));
        if block {
            kept += 1;
        }
        if block || w.num_elements() < 1024 {
            assert_eq!(w.dtype, DType::F32, "{name}");
        } else {
            assert_eq!(w.dtype, DType::I8, "{name}");
        }
    }
    assert_eq!(kept, 14);
    check_runs(&q, REF_AND_XNNPACK, 0.99, true);
    done(q);
}

/// float_casting: float16 weights behind DEQUANTIZE, the biases left float32
/// (unlike `--mode fp16`); min_weight_elements leaves smaller weights float.
fn float_casting_and_min_weight_elements() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[
            r#"{"regex": ".*", "operation": "*", "algorithm_key": "float_casting",
            "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
            "compute_precision": "FLOAT", "explicit_dequantize": true}}"#
                .into(),
        ],
        "float_casting",
    )
    .unwrap();
    for node in nodes(&q.sg, "CONV_2D", "") {
        let (w, behind) = weight(&q.sg, node);
        assert!(behind && w.dtype == DType::F16, "{}", w.name);
        let b = &q.sg.tensors[node.inputs[2].unwrap()];
        assert_eq!(b.dtype, DType::F32, "{}", b.name);
    }
    check_runs(&q, REF_AND_XNNPACK, 0.999, true);
    done(q);

    let config = r#"{"weight_tensor_config": {"num_bits": 8, "granularity": "CHANNELWISE"},
        "compute_precision": "INTEGER", "min_weight_elements": 20000}"#;
    let q = quantize_with(
        &shared,
        MOBILENET,
        Mode::Recipe,
        &[entry(".*", "*", config)],
        "min_elements",
    )
    .unwrap();
    let mut both = [0, 0];
    for node in nodes(&q.sg, "CONV_2D", "") {
        let (w, _) = weight(&q.sg, node);
        let big = w.num_elements() >= 20000;
        both[big as usize] += 1;
        let want = if big { DType::I8 } else { DType::F32 };
        assert_eq!(w.dtype, want, "{}", w.name);
    }
    assert!(both[0] > 0 && both[1] > 0, "{both:?}");
    check_runs(&q, REF_AND_XNNPACK, 0.99, true);
    done(q);
}

/// Entries apply in the subgraphs a WHILE loop calls: the FULLY_CONNECTED weights
/// of an LSTM's loop body become int4; a no_quantize entry for the WHILE node
/// keeps its body float.
fn recipes_reach_into_loop_bodies() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let fc4 = entry(
        ".*",
        "FULLY_CONNECTED",
        &dynamic_config(&weights(4, "CHANNELWISE", true)),
    );
    let body_fc_weights = |q: &Quantized| -> Vec<DType> {
        let g = tflite_wgpu::model::read(&std::fs::read(&q.path).unwrap(), &Default::default())
            .unwrap();
        let body =
            q.sg.nodes
                .iter()
                .find_map(|n| match n.op {
                    Op::While { body, .. } => Some(body),
                    _ => None,
                })
                .expect("a WHILE node");
        let sg = &g.subgraphs[body];
        nodes(sg, "FULLY_CONNECTED", "")
            .iter()
            .map(|n| weight(sg, n).0.dtype)
            .collect()
    };
    let lstm = "models/gen/op_lstm.tflite";
    let q = quantize_with(
        &shared,
        lstm,
        Mode::Recipe,
        std::slice::from_ref(&fc4),
        "lstm",
    )
    .unwrap();
    let types = body_fc_weights(&q);
    assert!(
        !types.is_empty() && types.iter().all(|&t| t == DType::Int4),
        "{types:?}"
    );
    check_runs(&q, REF_AND_XNNPACK, 0.99, true);
    done(q);
    let keep_loop = r#"{"operation": "WHILE", "algorithm_key": "no_quantize"}"#.to_string();
    let q = quantize_with(&shared, lstm, Mode::Recipe, &[fc4, keep_loop], "lstm_float").unwrap();
    let types = body_fc_weights(&q);
    assert!(types.iter().all(|&t| t == DType::F32), "{types:?}");
    done(q);
}

/// A BATCH_MATMUL of a [1, 4, 16] input by a constant [16, 24], written to `dir`.
fn batch_matmul_model(dir: &Path) -> PathBuf {
    use tflite_wgpu::graph::{Graph, Node, Subgraph, TensorInfo};
    let w: Vec<u8> = (0..16 * 24)
        .flat_map(|i| (((i * 37) % 29) as f32 / 14.0 - 1.0 + (i % 24) as f32 * 0.1).to_le_bytes())
        .collect();
    let mut weights = TensorInfo::new("w", DType::F32, vec![16, 24]);
    weights.data = Some(w.into());
    let g = Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors: vec![
                TensorInfo::new("x", DType::F32, vec![1, 4, 16]),
                weights,
                TensorInfo::new("y", DType::F32, vec![1, 4, 24]),
            ],
            nodes: vec![Node {
                op: Op::BatchMatMul {
                    adj_x: false,
                    adj_y: false,
                    asymmetric_quantize_inputs: false,
                },
                inputs: vec![Some(0), Some(1)],
                outputs: vec![2],
            }],
            inputs: vec![0],
            outputs: vec![2],
        }],
        version: 3,
        ..Default::default()
    };
    let path = dir.join("batch_matmul.tflite");
    std::fs::write(&path, tflite_wgpu::model::write(&g).unwrap()).unwrap();
    path
}

/// The other weight ops: TRANSPOSE_CONV and BATCH_MATMUL weight-only with int4
/// weights per channel (BATCH_MATMUL's output columns: its last axis), and
/// dynamic with int8 weights (BATCH_MATMUL per tensor).
fn transpose_conv_and_batch_matmul_in_each_weight_mode() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-recipes-bmm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bmm = batch_matmul_model(&dir);
    let bmm = bmm.to_str().unwrap();
    let cases = [
        (
            "models/gen/op_transpose_conv_s2.tflite",
            "TRANSPOSE_CONV",
            "wo4",
            0,
        ),
        (
            "models/gen/op_transpose_conv_s2.tflite",
            "TRANSPOSE_CONV",
            "dyn8",
            0,
        ),
        (bmm, "BATCH_MATMUL", "wo4", 1),
        (bmm, "BATCH_MATMUL", "dyn8", 1),
    ];
    for (model, op, mode, axis) in cases {
        let config = match mode {
            "wo4" => weight_only_config(&weights(4, "CHANNELWISE", true)),
            _ if op == "BATCH_MATMUL" => dynamic_config(&weights(8, "TENSORWISE", true)),
            _ => dynamic_config(&weights(8, "CHANNELWISE", true)),
        };
        let tag = format!("{}_{mode}", op.to_lowercase());
        let q = quantize_with(
            &shared,
            model,
            Mode::Recipe,
            &[entry(".*", op, &config)],
            &tag,
        )
        .unwrap();
        let node = nodes(&q.sg, op, "")[0];
        let (w, behind) = weight(&q.sg, node);
        let p = w.quantization.as_ref().unwrap();
        match mode {
            "wo4" => {
                assert!(behind && w.dtype == DType::Int4, "{tag}");
                assert_eq!((p.scale.len(), p.axis), (w.shape[axis], axis), "{tag}");
            }
            _ => {
                assert!(!behind && w.dtype == DType::I8, "{tag}");
                let n = if op == "BATCH_MATMUL" { 1 } else { w.shape[0] };
                assert_eq!(p.scale.len(), n, "{tag}");
            }
        }
        check_runs(&q, REF_AND_XNNPACK, 0.99, true);
        done(q);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(shared, bit_width_sets_the_weight_type_and_its_packing),
        crate::case!(shared, granularity_sets_the_number_of_scales),
        crate::case!(shared, blockwise_stores_float16_block_scales),
        crate::case!(shared, what_litert_cannot_run_is_refused_naming_the_op),
        crate::case!(shared, weight_only_keeps_every_activation_float),
        crate::case!(shared, dynamic_reads_quantized_weights_directly),
        crate::case!(shared, static_quantizes_activations_with_the_asked_weights),
        crate::case!(shared, entries_mix_modes_by_op_and_name_and_later_ones_win),
        crate::case!(shared, no_quantize_keeps_nodes_float_over_the_mode),
        crate::case!(shared, float_casting_and_min_weight_elements),
        crate::case!(shared, transpose_conv_and_batch_matmul_in_each_weight_mode),
        crate::case!(shared, recipes_reach_into_loop_bodies),
    ]
}
