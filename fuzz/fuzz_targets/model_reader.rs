//! The `.tflite` reader on arbitrary bytes: a typed error or a graph, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tflite_wgpu::model::{self, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let limits = LoadOptions {
        max_tensor_bytes: 64 << 20,
        max_total_bytes: 256 << 20,
        ..Default::default()
    };
    if let Ok(graph) = model::read(data, &limits) {
        // A graph that reads must also write back.
        let _ = model::write(&graph);
    }
});
