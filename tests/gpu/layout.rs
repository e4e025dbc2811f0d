//! GPU data-movement lowerings (the strided-copy kernel and GATHER) against the CPU
//! interpreter at fp32 and fp16: odd sizes, negative axes, ranks up to 6.

use crate::common;

use common::gpu::{check_gpu_matches_cpu, gpu_available, one_node, Arg};
use tflite_wgpu::graph::op::{Activation, StridedSlice};
use tflite_wgpu::graph::Op;

fn check(name: &str, op: Op, args: Vec<Arg>, outs: Vec<Vec<usize>>) {
    check_gpu_matches_cpu(name, one_node(op, args, outs));
}

/// Like `check`, with input 1 (int paddings) reshaped to [rank, 2].
fn check_pad(name: &str, op: Op, args: Vec<Arg>, outs: Vec<Vec<usize>>) {
    let mut g = one_node(op, args, outs);
    let t = &mut g.subgraphs[0].tensors[1];
    t.shape = vec![t.shape[0] / 2, 2];
    check_gpu_matches_cpu(name, g);
}

fn reshape_squeeze_expand_dims() {
    if !gpu_available() {
        return;
    }
    check(
        "reshape",
        Op::Reshape { new_shape: None },
        vec![Arg::Input(vec![2, 3, 5]), Arg::Ints(vec![5, -1])],
        vec![vec![5, 6]],
    );
    check(
        "reshape options",
        Op::Reshape {
            new_shape: Some(vec![30]),
        },
        vec![Arg::Input(vec![2, 3, 5])],
        vec![vec![30]],
    );
    check(
        "squeeze",
        Op::Squeeze { axes: vec![-3] },
        vec![Arg::Input(vec![3, 1, 5, 1])],
        vec![vec![3, 5, 1]],
    );
    check(
        "expand_dims",
        Op::ExpandDims,
        vec![Arg::Input(vec![3, 5]), Arg::Ints(vec![-1])],
        vec![vec![3, 5, 1]],
    );
    // A reshape between two GPU ops.
    check(
        "reshape of a constant",
        Op::Reshape { new_shape: None },
        vec![
            Arg::Const(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            Arg::Ints(vec![3, 2]),
        ],
        vec![vec![3, 2]],
    );
}

fn concatenation_every_axis() {
    if !gpu_available() {
        return;
    }
    let base = [3usize, 5, 2, 7];
    for axis in 0..4 {
        let mut shapes = Vec::new();
        let mut out = base.to_vec();
        out[axis] = 0;
        for k in [1usize, 3, 2] {
            let mut s = base.to_vec();
            s[axis] = k;
            out[axis] += k;
            shapes.push(s);
        }
        for neg in [false, true] {
            let a = if neg { axis as i32 - 4 } else { axis as i32 };
            check(
                &format!("concat axis {a}"),
                Op::Concatenation {
                    axis: a,
                    activation: if neg {
                        Activation::Relu6
                    } else {
                        Activation::None
                    },
                },
                shapes.iter().cloned().map(Arg::Input).collect(),
                vec![out.clone()],
            );
        }
    }
    check(
        "concat with a constant",
        Op::Concatenation {
            axis: 1,
            activation: Activation::ReluN1To1,
        },
        vec![
            Arg::Input(vec![2, 3]),
            Arg::Const(vec![2, 1], vec![5.0, -5.0]),
        ],
        vec![vec![2, 4]],
    );
}

fn split_and_split_v() {
    if !gpu_available() {
        return;
    }
    check(
        "split axis 1",
        Op::Split { num_splits: 3 },
        vec![Arg::Ints(vec![1]), Arg::Input(vec![2, 9, 5])],
        vec![vec![2, 3, 5]; 3],
    );
    check(
        "split axis -1",
        Op::Split { num_splits: 2 },
        vec![Arg::Ints(vec![-1]), Arg::Input(vec![3, 5, 4])],
        vec![vec![3, 5, 2]; 2],
    );
    check(
        "split_v with -1",
        Op::SplitV { num_splits: 3 },
        vec![
            Arg::Input(vec![3, 11, 2]),
            Arg::Ints(vec![2, -1, 4]),
            Arg::Ints(vec![-2]),
        ],
        vec![vec![3, 2, 2], vec![3, 5, 2], vec![3, 4, 2]],
    );
    check(
        "split_v axis 0",
        Op::SplitV { num_splits: 2 },
        vec![
            Arg::Input(vec![7, 3]),
            Arg::Ints(vec![3, 4]),
            Arg::Ints(vec![0]),
        ],
        vec![vec![3, 3], vec![4, 3]],
    );
}

fn slice() {
    if !gpu_available() {
        return;
    }
    check(
        "slice",
        Op::Slice,
        vec![
            Arg::Input(vec![3, 7, 5]),
            Arg::Ints(vec![1, 2, 0]),
            Arg::Ints(vec![2, -1, 3]),
        ],
        vec![vec![2, 5, 3]],
    );
}

fn ss(
    name: &str,
    p: StridedSlice,
    shape: Vec<usize>,
    b: Vec<i32>,
    e: Vec<i32>,
    s: Vec<i32>,
    out: Vec<usize>,
) {
    check(
        name,
        Op::StridedSlice(p),
        vec![Arg::Input(shape), Arg::Ints(b), Arg::Ints(e), Arg::Ints(s)],
        vec![out],
    );
}

fn strided_slice_masks_and_negative_strides() {
    if !gpu_available() {
        return;
    }
    let d = StridedSlice::default();
    ss(
        "plain",
        d,
        vec![5, 7, 3],
        vec![1, 0, 0],
        vec![4, 7, 3],
        vec![2, 3, 1],
        vec![2, 3, 3],
    );
    ss(
        "negative strides",
        d,
        vec![5, 7, 3],
        vec![-1, 5, 2],
        vec![-6, 0, -4],
        vec![-2, -2, -1],
        vec![3, 3, 3],
    );
    ss(
        "begin_mask end_mask",
        StridedSlice {
            begin_mask: 0b101,
            end_mask: 0b010,
            ..d
        },
        vec![5, 7, 3],
        vec![3, 2, 1],
        vec![5, 0, 0],
        vec![1, 2, -1],
        vec![5, 3, 2],
    );
    ss(
        "shrink",
        StridedSlice {
            shrink_axis_mask: 0b101,
            ..d
        },
        vec![5, 7, 3],
        vec![-2, 1, 1],
        vec![0, 6, 0],
        vec![1, 1, 1],
        vec![5],
    );
    ss(
        "new_axis",
        StridedSlice {
            new_axis_mask: 0b010,
            ..d
        },
        vec![5, 7],
        vec![1, 0, 2],
        vec![4, 0, 7],
        vec![1, 1, 2],
        vec![3, 1, 3],
    );
    ss(
        "ellipsis",
        StridedSlice {
            ellipsis_mask: 0b001,
            ..d
        },
        vec![2, 3, 5, 7],
        vec![0, 1],
        vec![0, 6],
        vec![1, 2],
        vec![2, 3, 5, 3],
    );
    ss(
        "ellipsis shrink",
        StridedSlice {
            ellipsis_mask: 0b010,
            shrink_axis_mask: 0b001,
            ..d
        },
        vec![2, 3, 5, 7],
        vec![1, 0, 5],
        vec![2, 0, 0],
        vec![1, 1, -1],
        vec![3, 5, 5],
    );
    ss(
        "offset",
        StridedSlice { offset: true, ..d },
        vec![6, 5],
        vec![1, 1],
        vec![3, 2],
        vec![1, 1],
        vec![3, 2],
    );
    ss(
        "clamped",
        d,
        vec![4, 5],
        vec![-100, 2],
        vec![100, 100],
        vec![1, 1],
        vec![4, 3],
    );
}

fn transpose_ranks_2_to_6() {
    if !gpu_available() {
        return;
    }
    let cases: Vec<(Vec<usize>, Vec<i32>)> = vec![
        (vec![3, 5], vec![1, 0]),
        (vec![2, 3, 5], vec![2, 0, 1]),
        (vec![2, 3, 5, 7], vec![0, 3, 1, 2]),
        (vec![2, 3, 1, 5, 3], vec![4, 2, 0, 3, 1]),
        (vec![2, 3, 2, 1, 3, 5], vec![5, 1, 3, 0, 4, 2]),
    ];
    for (shape, perm) in cases {
        let out: Vec<usize> = perm.iter().map(|&p| shape[p as usize]).collect();
        check(
            &format!("transpose {shape:?} {perm:?}"),
            Op::Transpose,
            vec![Arg::Input(shape.clone()), Arg::Ints(perm)],
            vec![out],
        );
    }
}

fn tile_and_broadcast_to() {
    if !gpu_available() {
        return;
    }
    check(
        "tile",
        Op::Tile,
        vec![Arg::Input(vec![2, 3, 5]), Arg::Ints(vec![3, 1, 2])],
        vec![vec![6, 3, 10]],
    );
    check(
        "broadcast_to",
        Op::BroadcastTo,
        vec![Arg::Input(vec![3, 1, 5]), Arg::Ints(vec![2, 3, 4, 5])],
        vec![vec![2, 3, 4, 5]],
    );
}

fn pack_and_unpack() {
    if !gpu_available() {
        return;
    }
    for axis in [0, 1, 2, -1, -3] {
        let mut out = vec![3usize, 5];
        let a = if axis < 0 { axis + 3 } else { axis } as usize;
        out.insert(a, 3);
        check(
            &format!("pack axis {axis}"),
            Op::Pack { axis },
            vec![
                Arg::Input(vec![3, 5]),
                Arg::Input(vec![3, 5]),
                Arg::Input(vec![3, 5]),
            ],
            vec![out],
        );
    }
    check(
        "unpack axis 1",
        Op::Unpack { axis: 1, num: 3 },
        vec![Arg::Input(vec![2, 3, 5])],
        vec![vec![2, 5]; 3],
    );
    check(
        "unpack axis -1",
        Op::Unpack { axis: -1, num: 5 },
        vec![Arg::Input(vec![2, 3, 5])],
        vec![vec![2, 3]; 5],
    );
}

fn pad_padv2_mirror_pad() {
    if !gpu_available() {
        return;
    }
    check_pad(
        "pad",
        Op::Pad,
        vec![Arg::Input(vec![2, 3, 5]), Arg::Ints(vec![1, 0, 2, 3, 0, 1])],
        vec![vec![3, 8, 6]],
    );
    check_pad(
        "padv2",
        Op::PadV2,
        vec![
            Arg::Input(vec![3, 5]),
            Arg::Ints(vec![2, 1, 1, 2]),
            Arg::Const(vec![1], vec![-7.5]),
        ],
        vec![vec![6, 8]],
    );
    for symmetric in [false, true] {
        let (b, a) = if symmetric { (3, 2) } else { (2, 1) };
        check_pad(
            &format!("mirror_pad symmetric={symmetric}"),
            Op::MirrorPad { symmetric },
            vec![Arg::Input(vec![2, 3, 4]), Arg::Ints(vec![1, 1, b, a, 0, 3])],
            vec![vec![4, 3 + b as usize + a as usize, 7]],
        );
    }
}

fn depth_to_space_and_space_to_depth() {
    if !gpu_available() {
        return;
    }
    for bs in [2usize, 3] {
        check(
            &format!("depth_to_space {bs}"),
            Op::DepthToSpace { block_size: bs },
            vec![Arg::Input(vec![2, 3, 5, 2 * bs * bs])],
            vec![vec![2, 3 * bs, 5 * bs, 2]],
        );
        check(
            &format!("space_to_depth {bs}"),
            Op::SpaceToDepth { block_size: bs },
            vec![Arg::Input(vec![2, 3 * bs, 2 * bs, 3])],
            vec![vec![2, 3, 2, 3 * bs * bs]],
        );
    }
}

fn reverse_v2() {
    if !gpu_available() {
        return;
    }
    check(
        "reverse",
        Op::ReverseV2,
        vec![Arg::Input(vec![3, 5, 7]), Arg::Ints(vec![0, -1])],
        vec![vec![3, 5, 7]],
    );
}

fn gather_constant_indices() {
    if !gpu_available() {
        return;
    }
    check(
        "gather axis 0",
        Op::Gather {
            axis: 0,
            batch_dims: 0,
        },
        vec![Arg::Input(vec![7, 5]), Arg::Ints(vec![6, 0, 3, 3, 1])],
        vec![vec![5, 5]],
    );
    check(
        "gather axis -2",
        Op::Gather {
            axis: -2,
            batch_dims: 0,
        },
        vec![Arg::Input(vec![2, 7, 3]), Arg::Ints(vec![2, 6])],
        vec![vec![2, 2, 3]],
    );
    check(
        "gather last axis",
        Op::Gather {
            axis: 2,
            batch_dims: 0,
        },
        vec![Arg::Input(vec![2, 3, 5]), Arg::Ints(vec![4, 4, 0])],
        vec![vec![2, 3, 3]],
    );
}

fn more_than_65535_workgroups() {
    if !gpu_available() {
        return;
    }
    // 3 * 1200 * 1200 elements > 65535 * 64: the dispatch becomes a 2-D grid.
    check(
        "large transpose",
        Op::Transpose,
        vec![Arg::Input(vec![3, 1200, 1200]), Arg::Ints(vec![2, 1, 0])],
        vec![vec![1200, 1200, 3]],
    );
}

fn rank_6_pad_and_tile() {
    if !gpu_available() {
        return;
    }
    check_pad(
        "pad rank 6",
        Op::Pad,
        vec![
            Arg::Input(vec![2, 1, 3, 2, 1, 3]),
            Arg::Ints(vec![0, 1, 1, 0, 0, 0, 1, 1, 2, 0, 0, 1]),
        ],
        vec![vec![3, 2, 3, 4, 3, 4]],
    );
    check(
        "tile rank 6",
        Op::Tile,
        vec![
            Arg::Input(vec![2, 1, 3, 2, 1, 3]),
            Arg::Ints(vec![1, 3, 1, 2, 2, 1]),
        ],
        vec![vec![2, 3, 3, 4, 2, 3]],
    );
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, reshape_squeeze_expand_dims),
        crate::case!(gpu, concatenation_every_axis),
        crate::case!(gpu, split_and_split_v),
        crate::case!(gpu, slice),
        crate::case!(gpu, strided_slice_masks_and_negative_strides),
        crate::case!(gpu, transpose_ranks_2_to_6),
        crate::case!(gpu, tile_and_broadcast_to),
        crate::case!(gpu, pack_and_unpack),
        crate::case!(gpu, pad_padv2_mirror_pad),
        crate::case!(gpu, depth_to_space_and_space_to_depth),
        crate::case!(gpu, reverse_v2),
        crate::case!(gpu, gather_constant_indices),
        crate::case!(gpu, more_than_65535_workgroups),
        crate::case!(gpu, rank_6_pad_and_tile),
    ]
}
