//! CPU interpreter latency on the models from ../shared (set TFLITE_WGPU_SHARED to
//! point elsewhere) that the CPU path is held to: within 2x of LiteRT's builtin
//! kernels on one thread. `python benches/litert_cpu.py --binary
//! target/debug/tflite-wgpu` times both side by side and prints the ratios.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use tflite_wgpu::{DType, Data, Interpreter, Model, Tensor};

const MODELS: &[&str] = &[
    "real/face_detection_short_range.tflite",
    "real/face_detection_back.tflite",
    "real/face_detection_full_range.tflite",
    "real/face_detection_full_range_sparse.tflite",
    "real/face_landmark.tflite",
    "real/iris_landmark.tflite",
    "gen/mobilenet_v2_035_128_fp32.tflite",
    "gen/mobilenet_v2_035_128_int8.tflite",
    "gen/mobilenet_v2_035_128_dynint8.tflite",
    "gen/mobilenet_v2_100_224_fp32.tflite",
];

fn shared() -> PathBuf {
    std::env::var_os("TFLITE_WGPU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn bench_cpu(c: &mut Criterion) {
    let dir = shared().join("models");
    if !dir.is_dir() {
        eprintln!("NOTE: {} not found; set TFLITE_WGPU_SHARED", dir.display());
        return;
    }
    let mut group = c.benchmark_group("cpu");
    group.sample_size(20);
    for name in MODELS {
        let model = match Model::from_file(dir.join(name)) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        let mut interp = match Interpreter::new(&model) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        for i in 0..interp.num_inputs() {
            let info = interp.input_info(i).expect("input").clone();
            let n: usize = info.shape.iter().product();
            let t = match info.dtype {
                DType::F32 => Tensor::f32(
                    info.shape.clone(),
                    (0..n).map(|k| ((k % 255) as f32) / 127.5 - 1.0).collect(),
                ),
                other => Tensor::new(
                    info.shape.clone(),
                    Data::zeros(other, n).expect("zero input"),
                ),
            };
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

criterion_group!(benches, bench_cpu);
criterion_main!(benches);
