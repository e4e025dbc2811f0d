//! The six real models and MobileNetV2 (fp32 and fp16 weights) are delegated whole:
//! one GPU partition, no node left on the CPU, at both precisions.

use crate::common;

use tflite_wgpu::{Device, Interpreter, Model, Options};

const WHOLE: &[&str] = &[
    "real/face_detection_short_range.tflite",
    "real/face_detection_full_range.tflite",
    "real/face_detection_full_range_sparse.tflite",
    "real/face_detection_back.tflite",
    "real/face_landmark.tflite",
    "real/iris_landmark.tflite",
    "gen/mobilenet_v2_035_128_fp32.tflite",
    "gen/mobilenet_v2_035_128_fp16.tflite",
];

fn real_models_are_one_gpu_partition() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    for name in WHOLE {
        let model = Model::from_file(shared.join("models").join(name)).unwrap();
        for fp16 in [false, true] {
            let options = Options {
                device: Device::Gpu,
                precision_loss_allowed: fp16,
                ..Default::default()
            };
            let interp = Interpreter::with_options(&model, options).unwrap();
            let r = interp.delegate_report().unwrap();
            assert!(r.failed.is_empty(), "{name}: {:?}", r.failed);
            assert_eq!(r.plan.partitions.len(), 1, "{name}: {:?}", r.plan.steps);
            assert!(r.plan.fallback.is_empty(), "{name}: {:?}", r.plan.fallback);
            assert_eq!(r.plan.steps.len(), 1, "{name}");
            println!(
                "{name} fp16={fp16}: {} model nodes, {} dispatches per invoke",
                model.graph().main().nodes.len(),
                r.dispatches
            );
        }
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(gpu_shared, real_models_are_one_gpu_partition)]
}
