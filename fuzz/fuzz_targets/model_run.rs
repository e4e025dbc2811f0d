//! Load, prepare and invoke on the CPU: every input gives a typed error or a run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tflite_wgpu::RunLimits;
use tflite_wgpu::model::LoadOptions;
use tflite_wgpu::{Interpreter, Model, Options, Tensor};

fuzz_target!(|data: &[u8]| {
    let load = LoadOptions {
        max_tensor_bytes: 16 << 20,
        max_total_bytes: 64 << 20,
        ..Default::default()
    };
    let Ok(model) = Model::from_bytes_with(data, &load) else {
        return;
    };
    let options = Options {
        limits: RunLimits {
            max_while_iterations: 1000,
            max_tensor_bytes: 16 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let Ok(mut interp) = Interpreter::with_options(&model, options) else {
        return;
    };
    for i in 0..interp.num_inputs() {
        let Ok(info) = interp.input_info(i) else {
            return;
        };
        let bytes = info
            .shape
            .iter()
            .try_fold(info.dtype.size().unwrap_or(1), |a, &d| a.checked_mul(d));
        if bytes.is_none_or(|b| b > 16 << 20) {
            return;
        }
        let (dtype, shape) = (info.dtype, info.shape.clone());
        if let Ok(t) = Tensor::zeros(dtype, shape) {
            let _ = interp.set_input(i, t);
        }
    }
    let _ = interp.invoke();
});
