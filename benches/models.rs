//! Invoke latency of the six real models and mobilenet_v2_035_128 from ../shared
//! (set TFLITE_WGPU_SHARED to point elsewhere) on the CPU, and on the GPU at fp32
//! and fp16. GPU configurations are skipped with a note when there is no adapter.
//! Sample sizes are small so that `cargo bench --bench models` finishes in minutes
//! on a software adapter (lavapipe).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;
use tflite_wgpu::{DType, Data, Device, Interpreter, Model, Options, Tensor};

const MODELS: &[&str] = &[
    "real/face_detection_short_range.tflite",
    "real/face_detection_back.tflite",
    "real/face_detection_full_range.tflite",
    "real/face_detection_full_range_sparse.tflite",
    "real/face_landmark.tflite",
    "real/iris_landmark.tflite",
    "gen/mobilenet_v2_035_128_fp32.tflite",
];

fn shared() -> PathBuf {
    std::env::var_os("TFLITE_WGPU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Deterministic inputs in [-1, 1] (zeros for non-float inputs).
fn inputs(interp: &Interpreter) -> Vec<Tensor> {
    (0..interp.num_inputs())
        .map(|i| {
            let info = interp.input_info(i).expect("input");
            let n: usize = info.shape.iter().product();
            match info.dtype {
                DType::F32 => Tensor::f32(
                    info.shape.clone(),
                    (0..n).map(|k| ((k % 255) as f32) / 127.5 - 1.0).collect(),
                ),
                other => Tensor::new(
                    info.shape.clone(),
                    Data::zeros(other, n).expect("zero input"),
                ),
            }
        })
        .collect()
}

/// (label, device, fp16) of each configuration.
const CONFIGS: &[(&str, Device, bool)] = &[
    ("cpu", Device::Cpu, false),
    ("gpu-fp32", Device::Gpu, false),
    ("gpu-fp16", Device::Gpu, true),
];

fn bench_models(c: &mut Criterion) {
    let dir = shared().join("models");
    if !dir.is_dir() {
        eprintln!("NOTE: {} not found; set TFLITE_WGPU_SHARED", dir.display());
        return;
    }
    let gpu = match tflite_wgpu::gpu_adapter(Default::default()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("NOTE: no GPU adapter ({e}); benchmarking the CPU only");
            false
        }
    };
    for &(config, device, fp16) in CONFIGS {
        if device == Device::Gpu && !gpu {
            continue;
        }
        let mut group = c.benchmark_group(config);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for name in MODELS {
            let options = Options {
                device,
                precision_loss_allowed: fp16,
                ..Default::default()
            };
            let prepared = Model::from_file(dir.join(name))
                .and_then(|m| Interpreter::with_options(&m, options));
            let mut interp = match prepared {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("skipping {name} on {config}: {e}");
                    continue;
                }
            };
            for (i, t) in inputs(&interp).into_iter().enumerate() {
                interp.set_input(i, t).expect("input");
            }
            let label = name
                .rsplit('/')
                .next()
                .unwrap_or(name)
                .trim_end_matches(".tflite");
            group.bench_function(label, |b| b.iter(|| interp.invoke().expect("invoke")));
        }
        group.finish();
    }
}

criterion_group!(benches, bench_models);
criterion_main!(benches);
