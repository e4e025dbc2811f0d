//! Run a model through the GPU delegate and compare with the CPU interpreter:
//! `cargo run --example gpu_delegate -- model.tflite [fp16]` (the demo model when no
//! path is given). Prints the plan and the largest difference per output.

use tflite_wgpu::{demo, GpuDelegate, Interpreter, Model, Tensor};

fn main() -> Result<(), tflite_wgpu::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = match args.first() {
        Some(p) => Model::from_file(p)?,
        None => Model::from_bytes(&demo::demo_model_bytes()?)?,
    };
    let fp16 = args.iter().any(|a| a == "fp16");
    let mut cpu = Interpreter::new(&model)?;
    let delegate = GpuDelegate::new(GpuDelegate {
        precision_loss_allowed: fp16,
        ..Default::default()
    })?;
    let mut gpu = Interpreter::new(&model)?.with_delegate(delegate)?;
    if let Some(r) = gpu.delegate_report() {
        println!("adapter: {}", r.adapter);
        println!(
            "{} GPU partition(s), {} node(s) on the CPU, precision {:?}",
            r.plan.partitions.len(),
            r.plan.fallback.len(),
            r.precision
        );
    }
    for i in 0..cpu.num_inputs() {
        let info = cpu.input_info(i)?.clone();
        let input = if args.is_empty() {
            demo::demo_input()
        } else {
            let n: usize = info.shape.iter().product();
            let v = (0..n)
                .map(|k| ((k * 7919) % 200) as f32 / 100.0 - 1.0)
                .collect();
            Tensor::f32(info.shape.clone(), v)
        };
        cpu.set_input(i, input.clone())?;
        gpu.set_input(i, input)?;
    }
    cpu.invoke()?;
    gpu.invoke()?;
    for i in 0..cpu.num_outputs() {
        let (a, b) = (cpu.output(i)?.data.to_f64(), gpu.output(i)?.data.to_f64());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        println!("output {i}: max |gpu - cpu| = {worst:.3e}");
    }
    Ok(())
}
