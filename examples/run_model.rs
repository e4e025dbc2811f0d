//! Load a `.tflite` model, feed it zeros (or the demo model and its input when no
//! path is given), run it on the CPU and print each output's shape and first values.
//!
//! `cargo run --example run_model -- path/to/model.tflite`

use tflite_wgpu::{demo, Interpreter, Model, Tensor};

fn main() -> Result<(), tflite_wgpu::Error> {
    let path = std::env::args().nth(1);
    let model = match &path {
        Some(p) => Model::from_file(p)?,
        None => Model::from_bytes(&demo::demo_model_bytes()?)?,
    };
    let mut interp = Interpreter::new(&model)?;
    for i in 0..interp.num_inputs() {
        let info = interp.input_info(i)?.clone();
        let input = if path.is_none() {
            demo::demo_input()
        } else {
            Tensor::zeros(info.dtype, info.shape.clone())?
        };
        println!("input {i}: {} {} {:?}", info.name, info.dtype, info.shape);
        interp.set_input(i, input)?;
    }
    interp.invoke()?;
    for i in 0..interp.num_outputs() {
        let out = interp.output(i)?;
        let values = out.data.to_f64();
        let head: Vec<String> = values.iter().take(8).map(|v| format!("{v:.4}")).collect();
        println!(
            "output {i}: {} {:?} [{} ...]",
            out.dtype(),
            out.shape,
            head.join(", ")
        );
    }
    Ok(())
}
