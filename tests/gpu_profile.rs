//! Profiled invokes on the GPU: every dispatch is timed and mapped to its node, and
//! on a software adapter (lavapipe, where dispatches run one after another) the
//! dispatch times add up to the GPU time of the invoke within 10%.

mod common;

use tflite_wgpu::{Device, Interpreter, Model, Options};

#[test]
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
    if gpu.device_type == "Cpu" {
        assert!(
            sums >= 0.9 * spans - ticks,
            "dispatches sum to {sums} ns, the invokes took {spans} ns on the GPU"
        );
    }
}
