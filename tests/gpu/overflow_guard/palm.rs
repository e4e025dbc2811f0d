//! A model shaped like BlazeFace / MediaPipe's palm detector, built with the
//! writer: a strided stem, blocks of DEPTHWISE_CONV_2D + 1x1 CONV_2D + residual
//! ADD + PRELU (the downsampling ones with a 2x2 MAX_POOL and a channel PAD on
//! the skip), two feature maps with regressor and classifier heads whose
//! reshaped outputs are concatenated. Activations pass 65,504 in the middle of
//! the network and come back down before the heads. At fp16 with the guard it
//! matches fp32 within the fp16 tolerance with no non-finite value, and `run`
//! (fused) and `validate --per-layer` (unfused, every intermediate read back)
//! promote the same nodes.

use super::families::{interpreter, invoke_all, promoted_nodes};
use super::{max_diff, tolerance, G};
use crate::common::gpu::{gpu_available, values};
use tflite_wgpu::graph::op::Binary;
use tflite_wgpu::validate::{validate, ValidateOptions};
use tflite_wgpu::{Model, OverflowGuard, Tensor};

/// One BlazeFace block: depthwise 3x3 at `stride`, 1x1 to `oc` channels, the
/// skip (2x2 max-pooled at stride 2, zero-padded to `oc` channels), ADD, PRELU.
fn block(g: &mut G, x: usize, oc: usize, stride: usize, pw_scale: f32, seed: u32) -> usize {
    let ic = *g.shape(x).last().expect("NHWC");
    let d = g.depthwise(x, stride, 0.3, seed);
    let c = g.conv(d, oc, 1, pw_scale, seed + 1);
    let mut skip = x;
    if stride == 2 {
        skip = g.max_pool(skip);
    }
    if oc > ic {
        skip = g.pad(skip, &[(0, 0), (0, 0), (0, 0), (0, oc - ic)]);
    }
    let s = g.binary(Binary::Add, skip, c);
    g.prelu(s, seed + 2)
}

/// A head: 1x1 convolution to `k` values per anchor (2 anchors per pixel),
/// reshaped to [1, anchors, k].
fn head(g: &mut G, x: usize, k: usize, scale: f32, seed: u32) -> usize {
    let [_, h, w, _] = g.shape(x)[..] else {
        panic!("NHWC")
    };
    let c = g.conv(x, 2 * k, 1, scale, seed);
    g.reshape(c, vec![1, h * w * 2, k])
}

fn palm_model() -> (Model, Vec<Tensor>) {
    let mut g = G::default();
    let x = g.input(vec![1, 16, 16, 4]);
    let stem = g.conv(x, 8, 3, 60.0, 1);
    let stem = g.prelu(stem, 2);
    // Growing through the blocks: past 65,504 by the third.
    let b1 = block(&mut g, stem, 8, 1, 0.9, 10);
    let b2 = block(&mut g, b1, 12, 2, 0.7, 20);
    let b3 = block(&mut g, b2, 12, 1, 0.8, 30);
    let b4 = block(&mut g, b3, 16, 2, 0.6, 40);
    // Back down: a small 1x1 convolution, then ordinary blocks.
    let down = g.conv(b4, 16, 1, 2e-4, 50);
    let f1 = block(&mut g, down, 16, 1, 0.3, 60);
    let f2 = block(&mut g, f1, 24, 2, 0.3, 70);
    let r1 = head(&mut g, f1, 4, 0.2, 80);
    let r2 = head(&mut g, f2, 4, 0.2, 81);
    let c1 = head(&mut g, f1, 1, 0.1, 82);
    let c2 = head(&mut g, f2, 1, 0.1, 83);
    let regressors = g.concat(&[r1, r2], 1);
    let classifiers = g.concat(&[c1, c2], 1);
    let model = g.model_outputs(vec![regressors, classifiers]);
    let input: Vec<f32> = values(16 * 16 * 4, 99)
        .iter()
        .map(|v| v * 0.5 + 0.5)
        .collect();
    (model, vec![Tensor::f32(vec![1, 16, 16, 4], input)])
}

fn palm_detector_shaped_model_at_fp16() {
    if !gpu_available() {
        return;
    }
    let (model, inputs) = palm_model();
    let reference = invoke_all(
        &mut interpreter(&model, false, OverflowGuard::On, true),
        &inputs,
    )
    .expect("the fp32 run");
    assert!(reference.iter().all(|v| v.is_finite()));
    let tol = tolerance(&reference);

    let mut run = interpreter(&model, true, OverflowGuard::On, true);
    if run.delegate_report().expect("a GPU report").f16_unavailable {
        crate::common::missing("the adapter has no SHADER_F16");
        return;
    }
    let out = invoke_all(&mut run, &inputs).expect("the guarded fp16 run");
    let promoted = promoted_nodes(&run.delegate_report().expect("report").promoted_fp32_nodes);
    eprintln!("palm: run promoted {} nodes: {promoted:?}", promoted.len());
    assert!(
        !promoted.is_empty(),
        "activations pass 65504: something is promoted"
    );
    assert!(
        out.iter().all(|v| v.is_finite()),
        "palm: a non-finite output"
    );
    let d = max_diff(&out, &reference);
    assert!(d <= tol, "palm: fp16 max|d| {d} > {tol}");
    // The same again: promotions stay, nothing more is flagged.
    let again = invoke_all(&mut run, &inputs).expect("the second run");
    assert_eq!(again, out);

    let off = invoke_all(
        &mut interpreter(&model, true, OverflowGuard::Off, true),
        &inputs,
    )
    .expect("the unguarded run");
    let d_off = max_diff(&off, &reference);
    eprintln!("palm: without the guard max|d| {d_off} (tolerance {tol})");

    let v = validate(
        &model,
        std::slice::from_ref(&inputs),
        &ValidateOptions {
            precision_loss_allowed: true,
            per_layer: true,
            ..Default::default()
        },
    )
    .expect("validate runs");
    let validated = promoted_nodes(&v.promoted_fp32_nodes);
    eprintln!("palm: validate promoted {} nodes", validated.len());
    assert_eq!(
        validated, promoted,
        "run and validate promote the same nodes"
    );
    for o in &v.outputs {
        assert_eq!(
            o.metrics.nonfinite_test, 0,
            "validate: output {} non-finite",
            o.index
        );
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(gpu, palm_detector_shaped_model_at_fp16)]
}
