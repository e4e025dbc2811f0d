//! CPU interpreter latency on real models from ../shared (set TFLITE_WGPU_SHARED to
//! point elsewhere). Compare with LiteRT's builtin kernels on one thread, e.g.
//! `python benches/litert_cpu.py` on the same models.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use tflite_wgpu::{Interpreter, Model, Tensor};

const MODELS: &[&str] = &[
    "real/face_detection_short_range.tflite",
    "gen/mobilenet_v2_035_128_fp32.tflite",
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
            let values: Vec<f32> = (0..n).map(|k| ((k % 255) as f32) / 127.5 - 1.0).collect();
            interp
                .set_input(i, Tensor::f32(info.shape.clone(), values))
                .expect("float input");
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
