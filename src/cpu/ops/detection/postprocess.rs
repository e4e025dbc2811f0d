//! TFLite_Detection_PostProcess: center-size box decoding against anchors, then
//! fast (class-agnostic over each box's best classes) or regular (per-class) NMS,
//! following LiteRT's `detection_postprocess.cc` (google-ai-edge/LiteRT) on one
//! thread; with several threads LiteRT merges per-class results in thread order.

use super::super::OpCtx;
use super::stl;
use crate::error::Result;
use crate::graph::op::DetectionPostProcess;
use crate::graph::{Data, Tensor};

/// A decoded box: ymin, xmin, ymax, xmax.
pub type Corner = [f32; 4];

/// Decode one box: `enc` and `anchor` are (y, x, h, w); the arithmetic is LiteRT's
/// (doubles, rounded to float before the corners are formed).
pub fn decode_box(p: &DetectionPostProcess, enc: [f32; 4], anchor: [f32; 4]) -> Corner {
    let [y, x, h, w] = enc.map(f64::from);
    let [ay, ax, ah, aw] = anchor.map(f64::from);
    let yc = (y / f64::from(p.y_scale) * ah + ay) as f32;
    let xc = (x / f64::from(p.x_scale) * aw + ax) as f32;
    let half_h = (0.5 * (h / f64::from(p.h_scale)).exp() * ah) as f32;
    let half_w = (0.5 * (w / f64::from(p.w_scale)).exp() * aw) as f32;
    [yc - half_h, xc - half_w, yc + half_h, xc + half_w]
}

/// Input `i` as floats: float32 as is, uint8 dequantized as LiteRT does.
fn floats(ctx: &OpCtx, i: usize) -> Result<Vec<f32>> {
    let t = ctx.input(i)?;
    match &t.data {
        Data::F32(v) => Ok(v.clone()),
        Data::U8(v) => {
            let (scale, zp) = ctx.in_qparams(i)?;
            let zp = zp as f32;
            Ok(v.iter().map(|&q| (f32::from(q) - zp) * scale).collect())
        }
        _ => Err(ctx.err(format!(
            "input {i} is {}; LiteRT's kernel takes float32 or uint8",
            t.dtype()
        ))),
    }
}

/// Boxes and values per encoding of box encodings (input `enc`, [1, boxes, >= 4])
/// decoded against anchors (input `anchors`, [>= boxes, 4]).
fn encodings(ctx: &OpCtx, enc: usize, anchors: usize) -> Result<(usize, usize)> {
    let e = ctx.input(enc)?;
    let a = ctx.input(anchors)?;
    if e.rank() != 3 || a.rank() != 2 {
        return Err(ctx.err(format!(
            "expected box encodings of rank 3 and anchors of rank 2, got {:?} and {:?}",
            e.shape, a.shape
        )));
    }
    let (boxes, code_len) = (e.shape[1], e.shape[2]);
    if e.shape[0] != 1 {
        return Err(ctx.err("only batch 1 is supported (as in LiteRT)"));
    }
    if code_len < 4 {
        return Err(ctx.err(format!("box encodings have {code_len} values, need 4")));
    }
    if a.shape[0] < boxes || a.shape[1] != 4 {
        return Err(ctx.err(format!(
            "anchors {:?} do not cover {boxes} boxes of 4 values",
            a.shape
        )));
    }
    if e.dtype() != a.dtype() {
        return Err(ctx.err("anchors must have the type of the box encodings (as in LiteRT)"));
    }
    Ok((boxes, code_len))
}

/// Score columns (background included) of the scores (input `i`) for `boxes`
/// boxes, after the option checks of LiteRT's Prepare and Eval.
fn columns(ctx: &OpCtx, p: &DetectionPostProcess, i: usize, boxes: usize) -> Result<usize> {
    let scores = ctx.input(i)?;
    if scores.rank() != 3 || scores.shape[0] != 1 || scores.shape[1] != boxes {
        return Err(ctx.err(format!(
            "scores {:?}, expected [1, {boxes}, classes]",
            scores.shape
        )));
    }
    let columns = scores.shape[2];
    let classes = usize::try_from(p.num_classes).unwrap_or(usize::MAX);
    if classes > columns || columns - classes > 1 {
        return Err(ctx.err(format!(
            "num_classes {} for {columns} score columns (at most one background column)",
            p.num_classes
        )));
    }
    if !(p.nms_iou_threshold > 0.0 && p.nms_iou_threshold <= 1.0) {
        return Err(ctx.err(format!(
            "nms_iou_threshold {} is outside (0, 1]",
            p.nms_iou_threshold
        )));
    }
    if p.max_detections < 0 {
        return Err(ctx.err(format!("max_detections {} is negative", p.max_detections)));
    }
    Ok(columns)
}

/// Decode `boxes` boxes of `code_len` values from inputs `enc` and `anchors`.
fn decode_inputs(
    ctx: &OpCtx,
    p: &DetectionPostProcess,
    (enc, anchors): (usize, usize),
    (boxes, code_len): (usize, usize),
) -> Result<Vec<Corner>> {
    let e = floats(ctx, enc)?;
    let a = floats(ctx, anchors)?;
    Ok((0..boxes)
        .map(|b| {
            let v = &e[b * code_len..b * code_len + 4];
            let w = &a[b * 4..b * 4 + 4];
            decode_box(p, [v[0], v[1], v[2], v[3]], [w[0], w[1], w[2], w[3]])
        })
        .collect())
}

/// LiteRT's `ComputeIntersectionOverUnion` over validated corner boxes.
fn iou(a: &Corner, b: &Corner) -> f32 {
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let max = |x: f32, y: f32| if x < y { y } else { x };
    let min = |x: f32, y: f32| if y < x { y } else { x };
    let ih = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0);
    let iw = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0);
    let inter = ih * iw;
    inter / (area_a + area_b - inter)
}

/// `NonMaxSuppressionSingleClassHelper`: indices of the kept boxes, best first.
fn single_class(
    p: &DetectionPostProcess,
    boxes: &[Corner],
    scores: &[f32],
    max_detections: usize,
) -> Vec<usize> {
    let keep: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i] >= p.nms_score_threshold)
        .collect();
    let mut order: Vec<usize> = (0..keep.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (scores[keep[i]], scores[keep[j]]);
        if a > b {
            std::cmp::Ordering::Less
        } else if b > a {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let sorted: Vec<usize> = order.iter().map(|&i| keep[i]).collect();
    let limit = sorted.len().min(max_detections);
    let mut active = vec![true; sorted.len()];
    let mut num_active = sorted.len();
    let mut selected = Vec::with_capacity(limit);
    for i in 0..sorted.len() {
        if num_active == 0 || selected.len() >= limit {
            break;
        }
        if !active[i] {
            continue;
        }
        selected.push(sorted[i]);
        active[i] = false;
        num_active -= 1;
        for j in i + 1..sorted.len() {
            if active[j] && iou(&boxes[sorted[i]], &boxes[sorted[j]]) > p.nms_iou_threshold {
                active[j] = false;
                num_active -= 1;
            }
        }
    }
    selected
}

/// `DecreasingPartialArgSort`: the `k` best of `values`, best first.
fn top_classes(values: &[f32], k: usize) -> Vec<usize> {
    if k == 1 {
        let mut best = 0;
        for (i, &v) in values.iter().enumerate() {
            if v > values[best] {
                best = i;
            }
        }
        return vec![best];
    }
    let mut idx: Vec<usize> = (0..values.len()).collect();
    stl::partial_sort(&mut idx, k, &|&a: &usize, &b: &usize| values[a] > values[b]);
    idx.truncate(k);
    idx
}

/// One output row: box, class, score.
type Row = (Corner, f32, f32);

/// The node's outputs from decoded boxes and float scores [boxes, columns].
fn suppress(
    ctx: &OpCtx,
    p: &DetectionPostProcess,
    columns: usize,
    boxes: &[Corner],
    scores: &[f32],
) -> Result<Vec<Tensor>> {
    let g = Geometry {
        boxes: boxes.len(),
        columns,
    };
    if boxes.iter().any(|b| b[0] > b[2] || b[1] > b[3]) {
        return Err(ctx.err("a decoded box has ymin > ymax or xmin > xmax"));
    }
    let classes = p.num_classes as usize;
    let offset = g.columns - classes;
    let max_det = p.max_detections as usize;
    let rows = p
        .output_rows()
        .ok_or_else(|| ctx.err("max_detections * max_classes_per_detection is negative"))?;
    ctx.check_size(&[rows, 4], crate::graph::DType::F32)?;
    let mut out: Vec<Option<Row>> = vec![None; rows];
    let count;
    if p.use_regular_nms {
        if rows < max_det {
            return Err(ctx.err(format!(
                "max_classes_per_detection {} leaves fewer output rows than max_detections",
                p.max_classes_per_detection
            )));
        }
        let per_class = p.detections_per_class.min(p.max_detections);
        if per_class <= 0 {
            return Err(ctx.err(format!(
                "detections_per_class {} must be positive",
                p.detections_per_class
            )));
        }
        // (score, flat index) of the best detections so far, best first.
        let mut best: Vec<(f32, usize)> = Vec::new();
        let mut class_scores = vec![0f32; g.boxes];
        for col in 0..classes {
            for (row, s) in class_scores.iter_mut().enumerate() {
                *s = scores[row * g.columns + col + offset];
            }
            let selected = single_class(p, boxes, &class_scores, per_class as usize);
            let fresh: Vec<(f32, usize)> = selected
                .iter()
                .map(|&b| (class_scores[b], b * g.columns + col + offset))
                .collect();
            // std::inplace_merge with `a.score > b.score`: stable, so on ties
            // the earlier class comes first.
            let mut merged = Vec::with_capacity(best.len() + fresh.len());
            let (mut i, mut j) = (0, 0);
            while i < best.len() && j < fresh.len() {
                if fresh[j].0 > best[i].0 {
                    merged.push(fresh[j]);
                    j += 1;
                } else {
                    merged.push(best[i]);
                    i += 1;
                }
            }
            merged.extend_from_slice(&best[i..]);
            merged.extend_from_slice(&fresh[j..]);
            merged.truncate(max_det);
            best = merged;
        }
        for (slot, &(score, flat)) in out.iter_mut().zip(&best) {
            let anchor = flat / g.columns;
            let class = flat - anchor * g.columns - offset;
            *slot = Some((boxes[anchor], class as f32, score));
        }
        count = best.len();
    } else {
        if p.max_classes_per_detection <= 0 {
            return Err(ctx.err(format!(
                "max_classes_per_detection {} must be positive",
                p.max_classes_per_detection
            )));
        }
        let per_box = p.max_classes_per_detection as usize;
        let k = per_box.min(classes);
        if k == 0 {
            return Err(ctx.err("num_classes is 0"));
        }
        let mut best_classes = Vec::with_capacity(g.boxes);
        let mut max_scores = Vec::with_capacity(g.boxes);
        for row in 0..g.boxes {
            let s = &scores[row * g.columns + offset..(row + 1) * g.columns];
            let top = top_classes(s, k);
            max_scores.push(s[top[0]]);
            best_classes.push(top);
        }
        let selected = single_class(p, boxes, &max_scores, max_det);
        for (n, &b) in selected.iter().enumerate() {
            let s = &scores[b * g.columns + offset..(b + 1) * g.columns];
            for (col, &c) in best_classes[b].iter().enumerate() {
                out[per_box * n + col] = Some((boxes[b], c as f32, s[c]));
            }
        }
        count = selected.len();
    }
    let mut corners = Vec::with_capacity(rows * 4);
    let mut class_out = Vec::with_capacity(rows);
    let mut score_out = Vec::with_capacity(rows);
    for r in &out {
        let (b, c, s) = r.unwrap_or(([0.0; 4], 0.0, 0.0));
        corners.extend_from_slice(&b);
        class_out.push(c);
        score_out.push(s);
    }
    Ok(vec![
        Tensor::new(vec![1, rows, 4], Data::F32(corners)),
        Tensor::new(vec![1, rows], Data::F32(class_out)),
        Tensor::new(vec![1, rows], Data::F32(score_out)),
        Tensor::new(vec![1], Data::F32(vec![count as f32])),
    ])
}

/// Rows and score columns of the NMS.
struct Geometry {
    boxes: usize,
    columns: usize,
}

fn check_arity(ctx: &OpCtx, inputs: usize, outputs: usize) -> Result<()> {
    if ctx.num_inputs() != inputs || ctx.num_outputs() != outputs {
        return Err(ctx.err(format!(
            "{} inputs and {} outputs, expected {inputs} and {outputs}",
            ctx.num_inputs(),
            ctx.num_outputs()
        )));
    }
    Ok(())
}

/// TFLite_Detection_PostProcess on the CPU.
pub fn detection_postprocess(ctx: &mut OpCtx, p: &DetectionPostProcess) -> Result<Vec<Tensor>> {
    check_arity(ctx, 3, 4)?;
    let geometry = encodings(ctx, 0, 2)?;
    let columns = columns(ctx, p, 1, geometry.0)?;
    let boxes = decode_inputs(ctx, p, (0, 2), geometry)?;
    let scores = floats(ctx, 1)?;
    suppress(ctx, p, columns, &boxes, &scores)
}

/// The decoding half of a split node: box encodings and anchors to corner boxes
/// [boxes, 4].
pub fn detection_decode(ctx: &mut OpCtx, p: &DetectionPostProcess) -> Result<Vec<Tensor>> {
    check_arity(ctx, 2, 1)?;
    let geometry = encodings(ctx, 0, 1)?;
    let boxes = decode_inputs(ctx, p, (0, 1), geometry)?;
    Ok(vec![Tensor::new(
        vec![boxes.len(), 4],
        Data::F32(boxes.concat()),
    )])
}

/// The NMS half of a split node: decoded boxes [boxes, 4] and scores to the op's
/// four outputs.
pub fn detection_nms(ctx: &mut OpCtx, p: &DetectionPostProcess) -> Result<Vec<Tensor>> {
    check_arity(ctx, 2, 4)?;
    let decoded = ctx.input(0)?;
    if decoded.rank() != 2 || decoded.shape[1] != 4 {
        return Err(ctx.err(format!(
            "decoded boxes {:?}, expected [boxes, 4]",
            decoded.shape
        )));
    }
    let columns = columns(ctx, p, 1, decoded.shape[0])?;
    let boxes: Vec<Corner> = ctx
        .input_f32(0)?
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    let scores = floats(ctx, 1)?;
    suppress(ctx, p, columns, &boxes, &scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_scales_offsets_and_sizes_by_the_anchor() {
        let p = DetectionPostProcess {
            y_scale: 10.0,
            x_scale: 10.0,
            h_scale: 5.0,
            w_scale: 5.0,
            ..Default::default()
        };
        // A zero encoding is the anchor itself: center (0.5, 0.5), size 0.2 x 0.4.
        let b = decode_box(&p, [0.0; 4], [0.5, 0.5, 0.2, 0.4]);
        let want = [0.4f32, 0.3, 0.6, 0.7];
        for (g, w) in b.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{b:?}");
        }
        // y = 10 moves the center by one anchor height; h = 5 scales it by e.
        let b = decode_box(&p, [10.0, 0.0, 5.0, 0.0], [0.5, 0.5, 0.2, 0.4]);
        let half = 0.1 * std::f32::consts::E;
        assert!((b[0] - (0.7 - half)).abs() < 1e-6 && (b[2] - (0.7 + half)).abs() < 1e-6);
    }

    #[test]
    fn iou_of_disjoint_nested_and_empty_boxes() {
        let a = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(iou(&a, &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert!((iou(&a, &[0.0, 0.0, 0.5, 0.5]) - 0.25).abs() < 1e-7);
        assert_eq!(iou(&a, &[0.5, 0.5, 0.5, 0.9]), 0.0);
    }
}
