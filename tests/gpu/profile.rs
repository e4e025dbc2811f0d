//! Profiled invokes on the GPU: every dispatch is timed and mapped to its node, and
//! on a software adapter (lavapipe, where dispatches run one after another) the
//! dispatch times cover most of the GPU time of the invoke (at least half: the
//! gaps are the driver's host time, which grows with the machine's load).

use crate::common;

use tflite_wgpu::{Device, Interpreter, Model, Options};

fn dispatch_times_add_up_to_the_invoke() {
    if !common::gpu::gpu_available() {
        return;
    }
    let model = Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes().unwrap()).unwrap();
    let options = Options {
        device: Device::Gpu,
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(&model, options).unwrap();
    interp
        .set_input(0, tflite_wgpu::demo::demo_input())
        .unwrap();
    interp.invoke().unwrap();
    let expected = interp.output(0).unwrap().clone();
    let report = interp.delegate_report().unwrap().clone();
    let gpu = tflite_wgpu::gpu_adapter(Default::default()).unwrap();
    let mut spans = 0.0;
    let mut sums = 0.0;
    for _ in 0..5 {
        let p = interp.invoke_profiled().unwrap();
        assert_eq!(
            interp.output(0).unwrap(),
            &expected,
            "profiling changed the output"
        );
        assert_eq!(p.partitions.len(), report.plan.partitions.len());
        assert!(p.wall_ns > 0.0);
        let Some(span) = p.gpu_span_ns() else {
            assert!(
                !gpu.timestamps,
                "the device has timestamps but none were read"
            );
            eprintln!("NOTE: the adapter has no timestamp queries; GPU times not checked");
            return;
        };
        assert_eq!(p.dispatches.len(), report.dispatches);
        for d in &p.dispatches {
            let node = &interp.graph().main().nodes[d.node];
            assert_eq!(d.op, node.op.name(), "dispatch mapped to the wrong node");
            assert!(d.gpu_ns >= 0.0);
        }
        spans += span;
        sums += p.dispatch_sum_ns();
    }
    assert!(spans > 0.0, "the invoke took no GPU time");
    // Timer resolution: a tick per timestamp of every dispatch of every run.
    let ticks = 2.0 * 5.0 * report.dispatches as f64 * f64::from(gpu.timestamp_period_ns);
    assert!(
        sums <= spans + ticks,
        "dispatches {sums} ns exceed the span {spans} ns"
    );
    // On a software adapter dispatches run one after another, so they cover most
    // of the span; the gap between them is host time of the driver, which grows
    // with the machine's load, so the bound is loose (it held at 0.9 on an idle
    // machine and failed at 0.89 under load).
    if gpu.device_type == "Cpu" {
        assert!(
            sums >= 0.5 * spans - ticks,
            "dispatches sum to {sums} ns, the invokes took {spans} ns on the GPU"
        );
    }
}

/// The op_conv3x3_same_relu model: CONV_2D 3x3 SAME stride 1 with bias and RELU.
fn conv_dispatch_flops_follow_the_formula() {
    if !common::gpu::gpu_available() {
        return;
    }
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let path = shared.join("models/gen/op_conv3x3_same_relu.tflite");
    let model = Model::from_file(&path).unwrap();
    for fp16 in [false, true] {
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            ..Default::default()
        };
        let mut interp = Interpreter::with_options(&model, options).unwrap();
        let precision = interp.delegate_report().unwrap().precision;
        let sg = interp.graph().main().clone();
        let conv = sg
            .nodes
            .iter()
            .position(|n| n.op.name() == "CONV_2D")
            .expect("a CONV_2D node");
        let node = &sg.nodes[conv];
        let shape = |k: usize| sg.tensors[node.input(k).unwrap()].shape.clone();
        let out = sg.tensors[node.outputs[0]].shape.clone();
        // The model as generated: 1x16x16x8 in, 16 filters 3x3x8, SAME, 1x16x16x16 out.
        assert_eq!(shape(0), [1, 16, 16, 8]);
        assert_eq!(shape(1), [16, 3, 3, 8]);
        assert_eq!(shape(2), [16]);
        assert_eq!(out, [1, 16, 16, 16]);
        let (n, oh, ow, oc, kh, kw, ic, groups) = (1, 16, 16, 16, 3, 3, 8, 1);
        let macs = 2 * n * oh * ow * oc * kh * kw * ic / groups;
        let bias_and_relu = 2 * n * oh * ow * oc;
        let expected = (macs + bias_and_relu) as f64;
        for (k, t) in common::gpu::seeded_inputs(interp.graph())
            .into_iter()
            .enumerate()
        {
            interp.set_input(k, t).unwrap();
        }
        interp.invoke().unwrap();
        let p = interp.invoke_profiled().unwrap();
        if p.gpu_span_ns().is_none() {
            eprintln!("NOTE: the adapter has no timestamp queries; nothing to check");
            return;
        }
        let of_conv: Vec<_> = p
            .dispatches
            .iter()
            .filter(|d| d.nodes.contains(&conv))
            .collect();
        assert!(!of_conv.is_empty(), "no dispatch runs the conv");
        let flops: f64 = of_conv.iter().map(|d| d.flops).sum();
        assert!(
            (flops - expected).abs() < 1e-6 * expected,
            "conv flops {flops}, the formula gives {expected}"
        );
        for d in &p.dispatches {
            assert!(d.workgroups >= 1 && d.workgroup_size >= 1);
            assert!(d.bytes > 0.0, "dispatch of {} moves no bytes", d.op);
            assert_eq!(d.nodes[0], d.node);
        }
        // Every input read once and the output written once, weights included, at
        // the storage precision (f16 halves them).
        let elems = (16 * 16 * 8 + 16 * 3 * 3 * 8 + 16 + 16 * 16 * 16) as f64;
        let conv_bytes: f64 = of_conv.iter().map(|d| d.bytes).sum();
        assert!((conv_bytes - elems * precision.bytes() as f64).abs() < 1e-6);
        let r = tflite_wgpu::roofline(std::slice::from_ref(&p));
        assert_eq!(r.dispatches.len(), p.dispatches.len());
        assert!((r.total.flops - p.dispatches.iter().map(|d| d.flops).sum::<f64>()).abs() < 1e-6);
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, dispatch_times_add_up_to_the_invoke),
        crate::case!(gpu_shared, conv_dispatch_flops_follow_the_formula),
    ]
}
