//! One GPU device shared by interpreters on 8 threads: every invoke of a real model
//! gives bit-identical outputs, per precision.
//!
//! The invokes per thread default to a number that keeps this test short on a
//! software rasterizer; `TFLITE_WGPU_THREAD_INVOKES=1000` runs the full check.

use crate::common;

use std::time::Instant;
use tflite_wgpu::{Device, Interpreter, Model, Options, Tensor};

const THREADS: usize = 8;

fn invokes() -> usize {
    std::env::var("TFLITE_WGPU_THREAD_INVOKES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

fn interpreter(model: &Model, fp16: bool) -> Interpreter {
    let options = Options {
        device: Device::Gpu,
        precision_loss_allowed: fp16,
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(model, options).unwrap();
    for i in 0..interp.num_inputs() {
        let info = interp.input_info(i).unwrap();
        let n = info.shape.iter().product();
        let t = Tensor::f32(info.shape.clone(), common::gpu::values(n, 11 + i as u32));
        interp.set_input(i, t).unwrap();
    }
    interp
}

/// The bits of every output after one invoke.
fn bits(interp: &mut Interpreter) -> Vec<Vec<u8>> {
    interp.invoke().unwrap();
    (0..interp.num_outputs())
        .map(|i| interp.output(i).unwrap().data.to_bytes())
        .collect()
}

fn eight_threads_share_one_device_with_identical_outputs() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let model =
        Model::from_file(shared.join("models/real/face_detection_short_range.tflite")).unwrap();
    let n = invokes();
    for fp16 in [false, true] {
        let expected = bits(&mut interpreter(&model, fp16));
        let start = Instant::now();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (model, expected) = (&model, &expected);
                    s.spawn(move || {
                        let mut interp = interpreter(model, fp16);
                        for k in 0..n {
                            assert!(
                                bits(&mut interp) == *expected,
                                "thread {t}, invoke {k}, fp16 {fp16}: outputs differ"
                            );
                            if (k + 1) % 100 == 0 {
                                eprintln!("fp16 {fp16}, thread {t}: {} invokes identical", k + 1);
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
        });
        println!(
            "fp16 {fp16}: {THREADS} threads x {n} invokes in {:?}",
            start.elapsed()
        );
    }
}

/// Two interpreters of different models on two threads, invoked at once: each
/// waits for its own submissions only, and each gets the outputs it gets alone.
fn two_models_on_two_threads_match_their_solo_runs() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let models: Vec<Model> = [
        "models/real/face_detection_short_range.tflite",
        "models/real/iris_landmark.tflite",
    ]
    .iter()
    .filter_map(|p| Model::from_file(shared.join(p)).ok())
    .collect();
    assert_eq!(models.len(), 2, "both models load");
    let solo: Vec<_> = models
        .iter()
        .map(|m| bits(&mut interpreter(m, false)))
        .collect();
    let n = invokes();
    std::thread::scope(|s| {
        let workers: Vec<_> = models
            .iter()
            .zip(&solo)
            .map(|(model, expected)| {
                s.spawn(move || {
                    let mut interp = interpreter(model, false);
                    for k in 0..n {
                        assert!(bits(&mut interp) == *expected, "invoke {k}: outputs differ");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(
            gpu_shared,
            eight_threads_share_one_device_with_identical_outputs
        ),
        crate::case!(gpu_shared, two_models_on_two_threads_match_their_solo_runs),
    ]
}
