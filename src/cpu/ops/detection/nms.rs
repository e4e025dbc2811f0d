//! NON_MAX_SUPPRESSION_V4 and V5 (soft-NMS with a Gaussian penalty), following
//! LiteRT's float `reference_ops::NonMaxSuppression`, its `std::priority_queue`
//! reproduced by [`stl`] so that equal scores are taken in LiteRT's order.

use super::super::OpCtx;
use super::stl;
use crate::error::Result;
use crate::graph::{Data, Tensor};

#[derive(Clone, Copy)]
struct Candidate {
    index: usize,
    score: f32,
    suppress_begin: usize,
}

fn less(a: &Candidate, b: &Candidate) -> bool {
    a.score < b.score
}

/// IoU of boxes given by two corners in any order (LiteRT's
/// `ComputeIntersectionAndUnion`, then 0 for an empty union).
fn iou(boxes: &[f32], i: usize, j: usize) -> f32 {
    let min = |x: f32, y: f32| if y < x { y } else { x };
    let max = |x: f32, y: f32| if x < y { y } else { x };
    let a = &boxes[i * 4..i * 4 + 4];
    let b = &boxes[j * 4..j * 4 + 4];
    let (ay0, ay1, ax0, ax1) = (
        min(a[0], a[2]),
        max(a[0], a[2]),
        min(a[1], a[3]),
        max(a[1], a[3]),
    );
    let (by0, by1, bx0, bx1) = (
        min(b[0], b[2]),
        max(b[0], b[2]),
        min(b[1], b[3]),
        max(b[1], b[3]),
    );
    let area_a = (ay1 - ay0) * (ax1 - ax0);
    let area_b = (by1 - by0) * (bx1 - bx0);
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let inter = max(min(ay1, by1) - max(ay0, by0), 0.0) * max(min(ax1, bx1) - max(ax0, bx0), 0.0);
    let union = area_a + area_b - inter;
    if union == 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Selected (index, score) pairs, at most `max_out`.
pub fn non_max_suppression(
    boxes: &[f32],
    scores: &[f32],
    max_out: usize,
    iou_threshold: f32,
    score_threshold: f32,
    sigma: f32,
) -> Vec<(usize, f32)> {
    let mut queue: Vec<Candidate> = Vec::new();
    for (index, &score) in scores.iter().enumerate() {
        if score > score_threshold {
            queue.push(Candidate {
                index,
                score,
                suppress_begin: 0,
            });
            stl::push_heap(&mut queue, &less);
        }
    }
    let num_outputs = queue.len().min(max_out);
    let scale = if sigma > 0.0 { -0.5 / sigma } else { 0.0 };
    let mut selected: Vec<(usize, f32)> = Vec::with_capacity(num_outputs);
    while selected.len() < num_outputs && !queue.is_empty() {
        stl::pop_heap(&mut queue, &less);
        let Some(mut next) = queue.pop() else { break };
        let original = next.score;
        let mut hard = false;
        for j in (next.suppress_begin..selected.len()).rev() {
            let overlap = iou(boxes, next.index, selected[j].0);
            if overlap >= iou_threshold {
                hard = true;
                break;
            }
            if sigma > 0.0 {
                next.score *= (scale * overlap * overlap).exp();
            }
            if next.score <= score_threshold {
                break;
            }
        }
        next.suppress_begin = selected.len();
        if !hard {
            if next.score == original {
                selected.push((next.index, next.score));
            }
            if next.score > score_threshold {
                queue.push(next);
                stl::push_heap(&mut queue, &less);
            }
        }
    }
    selected
}

fn scalar_f32(ctx: &OpCtx, i: usize, what: &str) -> Result<f32> {
    let v = ctx.input_f32(i)?;
    match v {
        [x] => Ok(*x),
        _ => Err(ctx.err(format!("{what} has {} elements, expected 1", v.len()))),
    }
}

/// NON_MAX_SUPPRESSION_V4 (`soft` false) and V5 (`soft` true) on float32 inputs.
pub fn nms(ctx: &mut OpCtx, soft: bool) -> Result<Vec<Tensor>> {
    let (inputs, outputs) = if soft { (6, 3) } else { (5, 2) };
    if ctx.num_inputs() != inputs || ctx.num_outputs() != outputs {
        return Err(ctx.err(format!(
            "{} inputs and {} outputs, expected {inputs} and {outputs}",
            ctx.num_inputs(),
            ctx.num_outputs()
        )));
    }
    let boxes_t = ctx.input(0)?;
    if boxes_t.rank() != 2 || boxes_t.shape[1] != 4 {
        return Err(ctx.err(format!("boxes {:?}, expected [n, 4]", boxes_t.shape)));
    }
    let n = boxes_t.shape[0];
    let boxes = ctx.input_f32(0)?;
    let scores = ctx.input_f32(1)?;
    if ctx.input(1)?.shape != [n] {
        return Err(ctx.err(format!("scores {:?} for {n} boxes", ctx.input(1)?.shape)));
    }
    let max_out = match ctx.ints(2)?.as_slice() {
        [m] if *m >= 0 => *m as usize,
        other => {
            return Err(ctx.err(format!(
                "max_output_size {other:?} is not one non-negative value"
            )))
        }
    };
    let iou_threshold = scalar_f32(ctx, 3, "iou_threshold")?;
    let score_threshold = scalar_f32(ctx, 4, "score_threshold")?;
    let sigma = if soft {
        scalar_f32(ctx, 5, "soft_nms_sigma")?
    } else {
        0.0
    };
    if sigma < 0.0 {
        return Err(ctx.err(format!("soft_nms_sigma {sigma} is negative")));
    }
    ctx.check_size(&[max_out], crate::graph::DType::I32)?;
    let selected = non_max_suppression(
        boxes,
        scores,
        max_out,
        iou_threshold,
        score_threshold,
        sigma,
    );
    let mut indices = vec![0i32; max_out];
    let mut kept = vec![0f32; max_out];
    for (k, &(i, s)) in selected.iter().enumerate() {
        indices[k] = i as i32;
        kept[k] = s;
    }
    let count = Tensor::new(vec![], Data::I32(vec![selected.len() as i32]));
    let indices = Tensor::new(vec![max_out], Data::I32(indices));
    Ok(if soft {
        vec![indices, Tensor::new(vec![max_out], Data::F32(kept)), count]
    } else {
        vec![indices, count]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Box 1 overlaps box 0 by IoU 0.81 (suppressed at 0.5), box 2 is disjoint;
    /// box 3 is below the score threshold.
    const BOXES: [f32; 16] = [
        0.0, 0.0, 1.0, 1.0, //
        0.0, 0.0, 0.9, 0.9, //
        2.0, 2.0, 3.0, 3.0, //
        5.0, 5.0, 6.0, 6.0,
    ];
    const SCORES: [f32; 4] = [0.9, 0.8, 0.7, 0.05];

    #[test]
    fn hard_nms_suppresses_overlaps_and_low_scores() {
        let got = non_max_suppression(&BOXES, &SCORES, 10, 0.5, 0.1, 0.0);
        assert_eq!(got, vec![(0, 0.9), (2, 0.7)]);
        let one = non_max_suppression(&BOXES, &SCORES, 1, 0.5, 0.1, 0.0);
        assert_eq!(one, vec![(0, 0.9)]);
    }

    #[test]
    fn soft_nms_decays_the_overlapping_score() {
        // With an IoU threshold of 1 nothing is hard-suppressed; box 1's score
        // decays by exp(-0.5 / sigma * iou^2).
        let sigma = 0.5f32;
        let got = non_max_suppression(&BOXES, &SCORES, 10, 1.0, 0.1, sigma);
        let iou = 0.81f32;
        let decayed = 0.8 * (-0.5 / sigma * iou * iou).exp();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0, got[1].0), (0, 2));
        assert_eq!(got[2].0, 1);
        assert!(
            (got[2].1 - decayed).abs() < 1e-6,
            "{} vs {decayed}",
            got[2].1
        );
    }

    #[test]
    fn corners_in_either_order_give_the_same_iou() {
        let flipped = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9];
        assert!((iou(&flipped, 0, 1) - 0.81).abs() < 1e-6);
    }
}
