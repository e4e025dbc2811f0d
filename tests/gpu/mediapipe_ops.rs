//! MediaPipe's transform custom ops (Landmarks2TransformMatrix, TransformTensor /
//! TransformTensorBilinear, TransformLandmarks) from their definitions in
//! mediapipe/util/tflite/operations: one-node models written with the writer and
//! read back, small inputs whose results are worked out by hand here, run on the
//! CPU and on the GPU at fp32 and fp16. LiteRT alone has no kernels for them, so
//! there are no LiteRT goldens.

use crate::common;

use common::gpu::{check_gpu_matches_cpu_on, gpu_available, one_node, values, Arg};
use tflite_wgpu::graph::op::*;
use tflite_wgpu::graph::{Graph, Op};
use tflite_wgpu::{Device, Interpreter, Model, Options, Tensor};

/// Write `graph` with the writer, read it back (the op and its options must
/// survive), and run it on `device`; the outputs, and whether one GPU partition
/// took the whole graph.
fn run(graph: &Graph, inputs: &[Tensor], device: Device, fp16: bool) -> (Vec<Tensor>, bool) {
    let bytes = tflite_wgpu::model::write(graph).expect("write");
    let model = Model::from_bytes(&bytes).expect("read back");
    let ops = |g: &Graph| -> Vec<Op> { g.main().nodes.iter().map(|n| n.op.clone()).collect() };
    assert_eq!(ops(model.graph()), ops(graph), "the options round-trip");
    let options = Options {
        device,
        precision_loss_allowed: fp16,
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(&model, options).expect("prepare");
    let on_gpu = interp.delegate_report().is_some_and(|r| {
        r.plan.partitions.len() == 1 && r.failed.is_empty() && r.plan.fallback.is_empty()
    });
    for (k, t) in inputs.iter().enumerate() {
        interp.set_input(k, t.clone()).expect("input");
    }
    interp.invoke().expect("invoke");
    let outs = (0..interp.num_outputs())
        .map(|k| interp.output(k).expect("output").clone())
        .collect();
    (outs, on_gpu)
}

/// Run on the CPU, and on the GPU at fp32 and fp16 when there is one, and compare
/// output 0 with `want`: CPU and GPU fp32 within 1e-5 and 1e-4 of max(1, |want|max),
/// fp16 within 2e-2 of it.
fn check(name: &str, graph: Graph, inputs: Vec<Tensor>, want: &[f32]) {
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let compare = |got: &Tensor, tol: f32, what: &str| {
        let got = got.as_f32().expect("float output");
        assert_eq!(got.len(), want.len(), "{name} {what}: {got:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol * scale,
                "{name} {what}: element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}"
            );
        }
    };
    let (cpu, _) = run(&graph, &inputs, Device::Cpu, false);
    compare(&cpu[0], 1e-5, "cpu");
    if !gpu_available() {
        return;
    }
    for (fp16, tol) in [(false, 1e-4), (true, 2e-2)] {
        let (gpu, on_gpu) = run(&graph, &inputs, Device::Gpu, fp16);
        assert!(on_gpu, "{name}: the GPU did not take the node");
        compare(&gpu[0], tol, if fp16 { "gpu fp16" } else { "gpu fp32" });
    }
}

fn tensor(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::f32(shape.to_vec(), v)
}

/// A 4x4 matrix tensor from its first two rows (the rest is the identity's).
fn matrix(x_row: [f32; 4], y_row: [f32; 4]) -> Tensor {
    let mut m = x_row.to_vec();
    m.extend(y_row);
    m.extend([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    tensor(&[1, 4, 4], m)
}

fn warp(align_corners: bool, input: [usize; 3], out_hw: [usize; 2]) -> Graph {
    let [h, w, c] = input;
    let [oh, ow] = out_hw;
    one_node(
        Op::MediaPipe(MediaPipeOp::TransformTensorBilinear(TransformTensor {
            output_height: oh,
            output_width: ow,
            align_corners,
        })),
        vec![Arg::Input(vec![1, h, w, c]), Arg::Input(vec![1, 4, 4])],
        vec![vec![1, oh, ow, c]],
    )
}

/// A [1, h, w, 2] image whose channel 0 is the ramp 10 x + y and channel 1 is
/// -(x + 10 y): bilinear sampling of it is exact, so a sample at (x, y) is the
/// ramp at (x, y).
fn ramp(h: usize, w: usize) -> (Tensor, impl Fn(f32, f32) -> [f32; 2]) {
    let f = |x: f32, y: f32| [10.0 * x + y, -(x + 10.0 * y)];
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            v.extend(f(x as f32, y as f32));
        }
    }
    (tensor(&[1, h, w, 2], v), f)
}

/// Expected output of a warp of the ramp: `at` maps an output pixel to its sample
/// point, zero outside [0, w-1] x [0, h-1].
fn expected(
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    at: impl Fn(f32, f32) -> (f32, f32),
) -> Vec<f32> {
    let (_, f) = ramp(h, w);
    let mut v = Vec::new();
    for oy in 0..oh {
        for ox in 0..ow {
            let (x, y) = at(ox as f32, oy as f32);
            let inside = x >= 0.0 && y >= 0.0 && x <= (w - 1) as f32 && y <= (h - 1) as f32;
            v.extend(if inside { f(x, y) } else { [0.0, 0.0] });
        }
    }
    v
}

fn transform_tensor_identity_returns_the_input() {
    let (img, _) = ramp(3, 4);
    let want = img.as_f32().unwrap().to_vec();
    for align in [false, true] {
        check(
            &format!("identity align_corners={align}"),
            warp(align, [3, 4, 2], [3, 4]),
            vec![
                img.clone(),
                matrix([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]),
            ],
            &want,
        );
    }
}

fn transform_tensor_translation_samples_between_pixels_and_zeroes_outside() {
    let (img, _) = ramp(4, 5);
    // Whole-pixel shift right by 1: the last column samples x = 5 > w - 1.
    check(
        "translate (1, 0)",
        warp(false, [4, 5, 2], [4, 5]),
        vec![
            img.clone(),
            matrix([1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]),
        ],
        &expected(4, 5, 4, 5, |x, y| (x + 1.0, y)),
    );
    // Half a pixel in x and a quarter in y: bilinear weights between four pixels.
    check(
        "translate (0.5, 0.25)",
        warp(false, [4, 5, 2], [4, 5]),
        vec![
            img.clone(),
            matrix([1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 0.0, 0.25]),
        ],
        &expected(4, 5, 4, 5, |x, y| (x + 0.5, y + 0.25)),
    );
    // Shift left: the first column samples x = -1 < 0.
    check(
        "translate (-1, -2)",
        warp(false, [4, 5, 2], [4, 5]),
        vec![img, matrix([1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 0.0, -2.0])],
        &expected(4, 5, 4, 5, |x, y| (x - 1.0, y - 2.0)),
    );
}

fn transform_tensor_scaling_follows_the_pixel_centre_convention() {
    let (img, _) = ramp(6, 6);
    let half = matrix([2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]);
    // Version 1: output pixel (x, y) samples (2x, 2y).
    check(
        "scale 2 v1",
        warp(false, [6, 6, 2], [3, 3]),
        vec![img.clone(), half.clone()],
        &expected(6, 6, 3, 3, |x, y| (2.0 * x, 2.0 * y)),
    );
    // Version 2 maps pixel centres: (x + 0.5) * 2 - 0.5 = 2x + 0.5.
    check(
        "scale 2 v2",
        warp(true, [6, 6, 2], [3, 3]),
        vec![img, half],
        &expected(6, 6, 3, 3, |x, y| (2.0 * x + 0.5, 2.0 * y + 0.5)),
    );
}

fn transform_tensor_rotation_by_90_degrees_transposes_and_flips() {
    let (h, w) = (3, 4);
    let (img, _) = ramp(h, w);
    let x = img.as_f32().unwrap().to_vec();
    // Output pixel (ox, oy) samples input (w - 1 - oy, ox): output is w x h.
    let mut want = Vec::new();
    for oy in 0..w {
        for ox in 0..h {
            let (ix, iy) = (w - 1 - oy, ox);
            want.extend_from_slice(&x[(iy * w + ix) * 2..][..2]);
        }
    }
    check(
        "rotate 90",
        warp(false, [h, w, 2], [w, h]),
        vec![
            img,
            matrix([0.0, -1.0, 0.0, (w - 1) as f32], [1.0, 0.0, 0.0, 0.0]),
        ],
        &want,
    );
}

fn landmarks_op(p: TransformLandmarks, shape: Vec<usize>) -> Graph {
    one_node(
        Op::MediaPipe(MediaPipeOp::TransformLandmarks(p)),
        vec![Arg::Input(shape.clone()), Arg::Input(vec![1, 4, 4])],
        vec![shape],
    )
}

fn transform_landmarks_rotates_and_translates_x_and_y_and_keeps_z() {
    // Rotation by 90 degrees plus a translation (5, 7) scaled by 2: (x, y, z) ->
    // (-y + 10, x + 14, z), for two landmarks at each of two pixels.
    let lm: Vec<f32> = (0..12).map(|v| v as f32 * 0.5 - 1.0).collect();
    let m = matrix([0.0, -1.0, 0.0, 5.0], [1.0, 0.0, 0.0, 7.0]);
    let want: Vec<f32> = lm
        .chunks(3)
        .flat_map(|p| [-p[1] + 10.0, p[0] + 14.0, p[2]])
        .collect();
    check(
        "landmarks v1 3-D",
        landmarks_op(
            TransformLandmarks::V1 {
                dimensions: 3,
                scale: 2.0,
            },
            vec![1, 1, 2, 6],
        ),
        vec![tensor(&[1, 1, 2, 6], lm.clone()), m.clone()],
        &want,
    );
    // Version 2: [1, n, 3], translation unscaled: (x, y, z) -> (-y + 5, x + 7, z).
    let want: Vec<f32> = lm
        .chunks(3)
        .flat_map(|p| [-p[1] + 5.0, p[0] + 7.0, p[2]])
        .collect();
    check(
        "landmarks v2 3-D",
        landmarks_op(TransformLandmarks::V2, vec![1, 4, 3]),
        vec![tensor(&[1, 4, 3], lm.clone()), m],
        &want,
    );
    // 2-D landmarks scaled by (2, 3) and shifted by (1, -1).
    let want: Vec<f32> = lm
        .chunks(2)
        .flat_map(|p| [2.0 * p[0] + 1.0, 3.0 * p[1] - 1.0])
        .collect();
    check(
        "landmarks v1 2-D",
        landmarks_op(
            TransformLandmarks::V1 {
                dimensions: 2,
                scale: 1.0,
            },
            vec![1, 2, 1, 6],
        ),
        vec![
            tensor(&[1, 2, 1, 6], lm),
            matrix([2.0, 0.0, 0.0, 1.0], [0.0, 3.0, 0.0, -1.0]),
        ],
        &want,
    );
}

fn to_matrix_op(p: LandmarksToMatrix, shape: Vec<usize>) -> Graph {
    one_node(
        Op::MediaPipe(MediaPipeOp::LandmarksToTransformMatrix(p)),
        vec![Arg::Input(shape)],
        vec![vec![1, 4, 4]],
    )
}

fn v2(left: usize, right: usize, subset: Vec<[usize; 2]>, out_wh: [i32; 2]) -> LandmarksToMatrix {
    LandmarksToMatrix::V2(LandmarksToMatrixV2 {
        left_rotation_idx: left,
        right_rotation_idx: right,
        target_rotation_radians: 0.0,
        output_width: out_wh[0],
        output_height: out_wh[1],
        scale_x: 1.0,
        scale_y: 1.0,
        subset_idxs: subset,
    })
}

fn landmarks_to_matrix_v2_maps_the_crop_onto_the_landmarks_box() {
    // Axis (0,0)->(2,0): no rotation. Box x in [0, 2], y in [-1, 3]: centre (1, 1),
    // size 2 x 4 onto a 4 x 8 crop: x = 0.5 u, y = 0.5 v - 1.
    let lm = vec![0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, -1.0, 0.0, 1.0, 3.0, 0.0];
    let want = [
        0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
    ];
    check(
        "l2m v2 axis-aligned",
        to_matrix_op(v2(0, 1, vec![[0, 1], [2, 3]], [4, 8]), vec![1, 4, 3]),
        vec![tensor(&[1, 4, 3], lm)],
        &want,
    );
    // Axis (0,0)->(0,2) is 90 degrees off the target 0: rotated by -90 degrees the
    // landmarks (0,0), (0,2), (-1,1) become (0,0), (2,0), (1,1): box 2 x 1, centre
    // (1, 0.5), which is (-0.5, 1) unrotated. A 2 x 1 crop: x = -v, y = u.
    // The odd subset [0, 1, 2] pairs its last index with itself.
    let lm = vec![0.0, 0.0, 0.0, 0.0, 2.0, 0.0, -1.0, 1.0, 0.0];
    let want = [
        0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
    ];
    check(
        "l2m v2 rotated 90",
        to_matrix_op(v2(0, 1, vec![[0, 1], [2, 2]], [2, 1]), vec![1, 3, 3]),
        vec![tensor(&[1, 3, 3], lm)],
        &want,
    );
}

fn landmarks_to_matrix_v1_maps_output_pixels_to_input_pixels() {
    // No rotation; box x in [0, 2], y in [-1, 3] of landmarks_range 4: scale
    // (0.5, 1), centre (1, 1) -> relative (-0.5, -0.5). A 3x3 output onto a 5x5
    // input: x = u, y = 2 v - 1.
    let lm = vec![0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, -1.0, 0.0, 1.0, 3.0, 0.0];
    let p = LandmarksToMatrix::V1(LandmarksToMatrixV1 {
        dimensions: 3,
        landmarks_range: 4,
        bbox_size_multiplier: 1.0,
        left_rotation_idx: 0,
        right_rotation_idx: 1,
        input_hw: [5, 5],
        output_hw: [3, 3],
        subset: vec![[0, 1], [2, 3]],
    });
    let want = [
        1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
    ];
    check(
        "l2m v1",
        to_matrix_op(p, vec![1, 1, 1, 12]),
        vec![tensor(&[1, 1, 1, 12], lm)],
        &want,
    );
}

fn a_landmark_index_past_the_input_is_an_error_naming_the_node() {
    let g = to_matrix_op(v2(0, 7, vec![[0, 1]], [2, 2]), vec![1, 2, 3]);
    let model = Model::from_graph(g);
    let mut interp = Interpreter::new(&model).expect("prepare");
    interp
        .set_input(0, tensor(&[1, 2, 3], vec![0.0; 6]))
        .expect("input");
    let e = interp.invoke().expect_err("index 7 of 2 landmarks");
    let msg = e.to_string();
    assert!(
        msg.contains("Landmarks2TransformMatrix") && msg.contains("landmark 7"),
        "{msg}"
    );
}

/// The face-mesh pattern: landmarks -> matrix -> crop of the image and the
/// landmarks mapped back.
fn chain() -> Graph {
    let mut g = to_matrix_op(v2(0, 1, vec![[0, 1], [2, 3]], [6, 5]), vec![1, 4, 3]);
    let sg = &mut g.subgraphs[0];
    let matrix_t = sg.outputs[0];
    let push = |sg: &mut tflite_wgpu::graph::Subgraph, name: &str, shape: Vec<usize>| {
        sg.tensors.push(tflite_wgpu::graph::TensorInfo::new(
            name,
            tflite_wgpu::graph::DType::F32,
            shape,
        ));
        sg.tensors.len() - 1
    };
    let image = push(sg, "image", vec![1, 8, 9, 3]);
    let crop = push(sg, "crop", vec![1, 5, 6, 3]);
    let mapped = push(sg, "mapped", vec![1, 4, 3]);
    sg.nodes.push(tflite_wgpu::graph::Node {
        op: Op::MediaPipe(MediaPipeOp::TransformTensorBilinear(TransformTensor {
            output_height: 5,
            output_width: 6,
            align_corners: true,
        })),
        inputs: vec![Some(image), Some(matrix_t)],
        outputs: vec![crop],
    });
    sg.nodes.push(tflite_wgpu::graph::Node {
        op: Op::MediaPipe(MediaPipeOp::TransformLandmarks(TransformLandmarks::V2)),
        inputs: vec![Some(sg.inputs[0]), Some(matrix_t)],
        outputs: vec![mapped],
    });
    sg.inputs.push(image);
    sg.outputs = vec![crop, mapped];
    g
}

/// The chain as one GPU partition against the CPU interpreter.
fn the_chain_of_the_three_ops_matches_the_cpu_on_the_gpu() {
    if !gpu_available() {
        return;
    }
    // Landmarks inside the 9x8 image, the axis tilted by about 20 degrees.
    let lm = vec![2.0, 2.0, 0.3, 6.5, 3.6, -0.2, 4.0, 1.0, 0.1, 4.5, 6.0, 0.0];
    let img: Vec<f32> = values(8 * 9 * 3, 5);
    check_gpu_matches_cpu_on(
        "landmarks -> matrix -> crop and landmarks",
        chain(),
        vec![tensor(&[1, 4, 3], lm), tensor(&[1, 8, 9, 3], img)],
    );
}

/// `inspect --json` of a model file with the three ops places every node on a
/// device and lists no fallback.
fn inspect_places_every_node() {
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-mediapipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chain.tflite");
    std::fs::write(&path, tflite_wgpu::model::write(&chain()).unwrap()).unwrap();
    let devices: &[&str] = if gpu_available() {
        &["cpu", "gpu"]
    } else {
        &["cpu"]
    };
    for device in devices {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
            .args([
                "inspect",
                path.to_str().unwrap(),
                "--json",
                "--device",
                device,
            ])
            .output()
            .expect("the CLI starts");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let placed: Vec<&str> = doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["device"].as_str().unwrap())
            .collect();
        assert_eq!(placed, [*device; 3], "{doc}");
        assert_eq!(doc["fallback"].as_array().map_or(0, Vec::len), 0, "{doc}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, transform_tensor_identity_returns_the_input),
        crate::case!(
            gpu,
            transform_tensor_translation_samples_between_pixels_and_zeroes_outside
        ),
        crate::case!(
            gpu,
            transform_tensor_scaling_follows_the_pixel_centre_convention
        ),
        crate::case!(
            gpu,
            transform_tensor_rotation_by_90_degrees_transposes_and_flips
        ),
        crate::case!(
            gpu,
            transform_landmarks_rotates_and_translates_x_and_y_and_keeps_z
        ),
        crate::case!(
            gpu,
            landmarks_to_matrix_v2_maps_the_crop_onto_the_landmarks_box
        ),
        crate::case!(
            gpu,
            landmarks_to_matrix_v1_maps_output_pixels_to_input_pixels
        ),
        crate::case!(
            plain,
            a_landmark_index_past_the_input_is_an_error_naming_the_node
        ),
        crate::case!(gpu, the_chain_of_the_three_ops_matches_the_cpu_on_the_gpu),
        crate::case!(gpu, inspect_places_every_node),
    ]
}
