//! The `tflite-wgpu` command line: run, inspect, bench, validate.

fn main() -> std::process::ExitCode {
    tflite_wgpu::cli::main()
}
