//! The `tflite-wgpu` command line: run, inspect, bench, validate, quantize.

fn main() -> std::process::ExitCode {
    // Mesa's Vulkan device-select layer probes Wayland and X11 to order devices and
    // prints to stderr where no display runtime exists; adapters are chosen by the
    // delegate itself, so the layer only adds noise. Set before any thread starts.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    tflite_wgpu::cli::main()
}
