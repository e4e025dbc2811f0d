//! GPU pools, reductions, CUMSUM, softmax family and resizes against the CPU
//! interpreter at fp32 (tight) and fp16 (loose), over odd sizes.

use crate::common;

use common::gpu::{check_gpu_matches_cpu, check_gpu_matches_cpu_tuned, checked, gpu_available};
use common::gpu::{one_node, Arg};
use tflite_wgpu::graph::op::{Activation, Padding, Pool2D, Reduce, Resize, Unary};
use tflite_wgpu::graph::Op;
use tflite_wgpu::Tuning;

fn out_size(padding: Padding, input: usize, k: usize, s: usize) -> usize {
    match padding {
        Padding::Same => input.div_ceil(s),
        Padding::Valid => (input - k) / s + 1,
    }
}

fn pools() {
    if !gpu_available() {
        return;
    }
    let (n, h, w, c) = (2, 7, 9, 5);
    for padding in [Padding::Same, Padding::Valid] {
        for (f, s) in [(2, 1), (2, 2), (3, 1), (3, 2)] {
            for max in [false, true] {
                let act = if max {
                    Activation::None
                } else {
                    Activation::Relu6
                };
                let p = Pool2D {
                    padding,
                    stride_w: s,
                    stride_h: s,
                    filter_w: f,
                    filter_h: f,
                    activation: act,
                };
                let op = if max {
                    Op::MaxPool2D(p)
                } else {
                    Op::AveragePool2D(p)
                };
                let (oh, ow) = (out_size(padding, h, f, s), out_size(padding, w, f, s));
                let g = one_node(
                    op,
                    vec![Arg::Input(vec![n, h, w, c])],
                    vec![vec![n, oh, ow, c]],
                );
                check_gpu_matches_cpu(&format!("pool max={max} {padding:?} {f}x{f}/{s}"), g);
            }
        }
    }
    // A rectangular window with different strides.
    let p = Pool2D {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 2,
        filter_w: 3,
        filter_h: 2,
        activation: Activation::None,
    };
    let g = one_node(
        Op::AveragePool2D(p),
        vec![Arg::Input(vec![1, 5, 6, 3])],
        vec![vec![1, 3, 6, 3]],
    );
    check_gpu_matches_cpu("avgpool 2x3 strides 2,1", g);
}

fn reduce(kind: Reduce, keep_dims: bool, shape: Vec<usize>, axes: Vec<i32>, out: Vec<usize>) {
    reduce_tuned(kind, keep_dims, shape, axes, out, checked());
}

/// [`reduce`] with the GPU interpreter's kernel overrides.
fn reduce_tuned(
    kind: Reduce,
    keep_dims: bool,
    shape: Vec<usize>,
    axes: Vec<i32>,
    out: Vec<usize>,
    tuning: Tuning,
) {
    let g = one_node(
        Op::Reduce { kind, keep_dims },
        vec![Arg::Input(shape.clone()), Arg::Ints(axes.clone())],
        vec![out],
    );
    let name = format!("{kind:?} keep={keep_dims} {shape:?} {axes:?}");
    check_gpu_matches_cpu_tuned(&name, g, tuning);
}

fn reductions() {
    if !gpu_available() {
        return;
    }
    use Reduce::*;
    for kind in [Mean, Sum, Max, Min, Prod] {
        reduce(kind, true, vec![2, 5, 7, 3], vec![1, 2], vec![2, 1, 1, 3]);
        reduce(kind, false, vec![2, 5, 7, 3], vec![1, 2], vec![2, 3]);
        reduce(kind, false, vec![3, 4, 5], vec![-1], vec![3, 4]);
        reduce(kind, true, vec![3, 4, 5], vec![-1, 2, -2], vec![3, 1, 1]);
        reduce(kind, false, vec![3, 4, 5], vec![0], vec![4, 5]);
        // Rank 5; axes 1 and 3 become contiguous once the size-1 axis 2 is dropped.
        reduce(kind, false, vec![2, 3, 1, 4, 5], vec![1, 3], vec![2, 1, 5]);
        reduce(
            kind,
            true,
            vec![2, 3, 1, 4, 5],
            vec![-4, 2, 3],
            vec![2, 1, 1, 1, 5],
        );
        reduce(kind, false, vec![3, 70, 2], vec![0, 1, 2], vec![]);
    }
}

/// Both kernels of a float reduction that gives each output a workgroup
/// (subgroup operations when the adapter has SUBGROUP, lavapipe's 8 wide, and
/// the workgroup-memory tree, forced for the second pass), and the one that
/// folds a row per invocation: rows shorter than, equal to and not a multiple
/// of the subgroup and workgroup sizes, inner, middle and outer axes,
/// keep_dims, and rows of 100,000 elements.
fn reductions_match_the_cpu_with_subgroup_and_workgroup_kernels() {
    if !gpu_available() {
        return;
    }
    let subgroups = tflite_wgpu::gpu_adapter(Default::default()).is_ok_and(|a| a.subgroups);
    if !subgroups {
        common::missing("the adapter has no SUBGROUP: only the workgroup path runs");
    }
    use Reduce::*;
    for workgroup in [false, true] {
        let tuning = Tuning {
            workgroup_reductions: workgroup,
            ..checked()
        };
        let reduce =
            |kind, keep, shape, axes, out| reduce_tuned(kind, keep, shape, axes, out, tuning);
        for kind in [Mean, Sum, Max, Min, Prod] {
            // Fewer outputs than a workgroup: one workgroup per output.
            for r in [1, 5, 8, 9, 64, 65, 200] {
                reduce(kind, false, vec![3, r], vec![-1], vec![3]);
                reduce(kind, true, vec![r, 5], vec![0], vec![1, 5]);
                reduce(kind, false, vec![2, r, 3], vec![1], vec![2, 3]);
            }
            reduce(kind, true, vec![2, 7, 9, 3], vec![1, 2], vec![2, 1, 1, 3]);
            // Many outputs: short rows (and, on CPU adapters, long ones) fold
            // per invocation, the rest take a workgroup each.
            reduce(kind, false, vec![100, 7, 30], vec![1], vec![100, 30]);
            reduce(
                kind,
                true,
                vec![1, 7, 7, 130],
                vec![1, 2],
                vec![1, 1, 1, 130],
            );
            reduce(kind, false, vec![70, 129], vec![-1], vec![70]);
            reduce(kind, false, vec![1100, 300], vec![1], vec![1100]);
            reduce(kind, false, vec![300, 1100], vec![0], vec![1100]);
        }
        // Long rows of few outputs split into parts (a second dispatch folds
        // them; rows of 16,384+ on CPU adapters, 4,096+ on GPUs): 2 parts
        // and more, rows not a multiple of a part.
        for kind in [Mean, Sum, Max, Min] {
            reduce(kind, false, vec![2, 16_385], vec![1], vec![2]);
            reduce(kind, true, vec![2, 30_001, 2], vec![1], vec![2, 1, 2]);
        }
        reduce(Mean, false, vec![2, 100_000], vec![1], vec![2]);
        reduce(Sum, true, vec![100_000, 1], vec![0], vec![1, 1]);
        reduce(Max, false, vec![1, 100_000], vec![-1], vec![1]);
        reduce_abs(Mean, vec![3, 100_000], vec![3], tuning);
    }
}

/// `kind` of |x| over the last axis: ABS feeds the reduction so that every term is
/// positive and the sums grow past what an fp16 accumulator can hold or resolve.
fn reduce_abs(kind: Reduce, shape: Vec<usize>, out: Vec<usize>, tuning: Tuning) {
    use tflite_wgpu::graph::{DType, Node, TensorInfo};
    let mut g = one_node(
        Op::Reduce {
            kind,
            keep_dims: false,
        },
        vec![Arg::Input(shape.clone()), Arg::Ints(vec![-1])],
        vec![out],
    );
    let sg = &mut g.subgraphs[0];
    sg.tensors
        .push(TensorInfo::new("abs", DType::F32, shape.clone()));
    let abs = sg.tensors.len() - 1;
    sg.nodes[0].inputs[0] = Some(abs);
    sg.nodes.insert(
        0,
        Node {
            op: Op::Unary(Unary::Abs),
            inputs: vec![Some(0)],
            outputs: vec![abs],
        },
    );
    check_gpu_matches_cpu_tuned(&format!("{kind:?} of |x| {shape:?}"), g, tuning);
}

fn long_sums_accumulate_in_f32() {
    if !gpu_available() {
        return;
    }
    // Sum ~50000: an fp16 accumulator stalls near 2048-4096.
    reduce_abs(Reduce::Sum, vec![1, 100_000], vec![1], checked());
    // Sum ~100000 overflows fp16 (65504); the mean is ~0.5.
    reduce_abs(Reduce::Mean, vec![2, 200_000], vec![2], checked());
    reduce(Reduce::Sum, false, vec![1, 100_000], vec![1], vec![1]);
}

fn cumsum() {
    if !gpu_available() {
        return;
    }
    for exclusive in [false, true] {
        for reverse in [false, true] {
            for (shape, axis) in [(vec![3, 17, 5], 1), (vec![4, 9], -1), (vec![6, 2, 3], 0)] {
                let g = one_node(
                    Op::Cumsum { exclusive, reverse },
                    vec![Arg::Input(shape.clone()), Arg::Ints(vec![axis])],
                    vec![shape.clone()],
                );
                check_gpu_matches_cpu(
                    &format!("cumsum excl={exclusive} rev={reverse} {shape:?} axis {axis}"),
                    g,
                );
            }
        }
    }
}

fn softmax_family() {
    if !gpu_available() {
        return;
    }
    for shape in [vec![5, 13], vec![2, 3, 4, 37], vec![3, 200], vec![1, 1]] {
        for op in [
            Op::Softmax { beta: 0.5 },
            Op::Softmax { beta: 1.0 },
            Op::LogSoftmax,
            Op::L2Normalization(Activation::None),
            Op::L2Normalization(Activation::ReluN1To1),
        ] {
            let name = format!("{op:?} {shape:?}");
            let g = one_node(op, vec![Arg::Input(shape.clone())], vec![shape.clone()]);
            check_gpu_matches_cpu(&name, g);
        }
    }
}

fn resizes() {
    if !gpu_available() {
        return;
    }
    let modes = [(false, false), (true, false), (false, true)];
    for (align_corners, half_pixel_centers) in modes {
        let p = Resize {
            align_corners,
            half_pixel_centers,
        };
        for (ih, iw, oh, ow) in [(5, 7, 11, 13), (4, 6, 8, 12), (9, 8, 4, 3), (3, 3, 1, 1)] {
            for nearest in [false, true] {
                let op = if nearest {
                    Op::ResizeNearestNeighbor(p)
                } else {
                    Op::ResizeBilinear(p)
                };
                let name = format!("{op:?} {ih}x{iw} -> {oh}x{ow}");
                let g = one_node(
                    op,
                    vec![
                        Arg::Input(vec![2, ih, iw, 3]),
                        Arg::Ints(vec![oh as i32, ow as i32]),
                    ],
                    vec![vec![2, oh, ow, 3]],
                );
                check_gpu_matches_cpu(&name, g);
            }
        }
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, pools),
        crate::case!(gpu, reductions),
        crate::case!(
            gpu,
            reductions_match_the_cpu_with_subgroup_and_workgroup_kernels
        ),
        crate::case!(gpu, long_sums_accumulate_in_f32),
        crate::case!(gpu, cumsum),
        crate::case!(gpu, softmax_family),
        crate::case!(gpu, resizes),
    ]
}
