//! Splitting TFLite_Detection_PostProcess into its two halves at prepare, so that
//! the box decoding (element-wise over anchors) can join the GPU partition of the
//! layers that produce the box encodings while the NMS (sorting and a serial
//! suppression loop) runs on the CPU.
//!
//! A node `i` whose box encodings are float32 and whose anchors are a float32
//! constant [boxes, 4] becomes node `i`, DetectionDecode (encodings, anchors ->
//! a new tensor `<name>/decoded` [boxes, 4]), and node `i + 1`, DetectionNms
//! (decoded boxes, scores -> the original four outputs). Both devices run the
//! split graph, as they run the fused one, so node indices agree between CPU and
//! GPU runs; the decode keeps the original node's index, and nodes after it move
//! up by one (the op is a model's last node in the converters' output). uint8
//! detectors keep the whole node on the CPU.

use crate::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};

fn plain_f32(info: &TensorInfo) -> bool {
    info.dtype == DType::F32 && info.quantization.is_none()
}

/// The decoded-boxes tensor of a node that splits; None for one that stays whole.
fn splits(sg: &Subgraph, node: &Node) -> Option<TensorInfo> {
    let Op::DetectionPostProcess(_) = node.op else {
        return None;
    };
    let (enc, scores, anchors) = match node.inputs[..] {
        [Some(e), Some(s), Some(a)] => (&sg.tensors[e], &sg.tensors[s], &sg.tensors[a]),
        _ => return None,
    };
    if node.outputs.len() != 4 || !plain_f32(enc) || !plain_f32(anchors) || !anchors.is_constant() {
        return None;
    }
    let [1, boxes, code] = enc.shape[..] else {
        return None;
    };
    if code < 4 || anchors.shape != [boxes, 4] || scores.shape.get(1) != Some(&boxes) {
        return None;
    }
    Some(TensorInfo::new(
        format!("{}/decoded", sg.tensors[node.outputs[0]].name),
        DType::F32,
        vec![boxes, 4],
    ))
}

/// Split every eligible detection node of the main subgraph; returns how many.
pub fn split_detection(graph: &mut Graph) -> usize {
    let Some(sg) = graph.subgraphs.first_mut() else {
        return 0;
    };
    let mut split = 0;
    let mut i = 0;
    while i < sg.nodes.len() {
        let Some(info) = splits(sg, &sg.nodes[i]) else {
            i += 1;
            continue;
        };
        let node = sg.nodes[i].clone();
        let Op::DetectionPostProcess(p) = node.op else {
            i += 1;
            continue;
        };
        let decoded = sg.tensors.len();
        sg.tensors.push(info);
        sg.nodes[i] = Node {
            op: Op::DetectionDecode(p),
            inputs: vec![node.inputs[0], node.inputs[2]],
            outputs: vec![decoded],
        };
        sg.nodes.insert(
            i + 1,
            Node {
                op: Op::DetectionNms(p),
                inputs: vec![Some(decoded), node.inputs[1]],
                outputs: node.outputs,
            },
        );
        split += 1;
        i += 2;
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::DetectionPostProcess;
    use std::sync::Arc;

    fn graph(enc: DType, anchors_constant: bool) -> Graph {
        let t = |n: &str, d: DType, s: Vec<usize>| TensorInfo::new(n, d, s);
        let mut anchors = t("anchors", enc, vec![3, 4]);
        if anchors_constant {
            anchors.data = Some(Arc::from(vec![0u8; 3 * 4 * enc.size().unwrap_or(1)]));
        }
        Graph {
            subgraphs: vec![Subgraph {
                name: "g".into(),
                tensors: vec![
                    t("enc", enc, vec![1, 3, 4]),
                    t("scores", DType::F32, vec![1, 3, 2]),
                    anchors,
                    t("boxes", DType::F32, vec![1, 2, 4]),
                    t("classes", DType::F32, vec![1, 2]),
                    t("scores_out", DType::F32, vec![1, 2]),
                    t("num", DType::F32, vec![1]),
                ],
                nodes: vec![Node {
                    op: Op::DetectionPostProcess(DetectionPostProcess::default()),
                    inputs: vec![Some(0), Some(1), Some(2)],
                    outputs: vec![3, 4, 5, 6],
                }],
                inputs: vec![0, 1],
                outputs: vec![3, 4, 5, 6],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn float_detector_splits_into_decode_and_nms() {
        let mut g = graph(DType::F32, true);
        assert_eq!(split_detection(&mut g), 1);
        let sg = g.main();
        assert_eq!(sg.nodes.len(), 2);
        assert!(matches!(sg.nodes[0].op, Op::DetectionDecode(_)));
        assert_eq!(sg.nodes[0].inputs, vec![Some(0), Some(2)]);
        assert_eq!(sg.nodes[0].outputs, vec![7]);
        assert_eq!(sg.tensors[7].shape, vec![3, 4]);
        assert!(matches!(sg.nodes[1].op, Op::DetectionNms(_)));
        assert_eq!(sg.nodes[1].inputs, vec![Some(7), Some(1)]);
        assert_eq!(sg.nodes[1].outputs, vec![3, 4, 5, 6]);
    }

    #[test]
    fn uint8_or_runtime_anchors_stay_whole() {
        for mut g in [graph(DType::U8, true), graph(DType::F32, false)] {
            assert_eq!(split_detection(&mut g), 0);
            assert!(matches!(g.main().nodes[0].op, Op::DetectionPostProcess(_)));
        }
    }
}
