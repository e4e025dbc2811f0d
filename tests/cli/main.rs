//! The command line: run, inspect, bench and validate as a user calls them.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod auto_mixed;
mod bench_cli;
mod broken_pipe;
mod device_choice;
mod inspect_unknown;
mod mutants;
mod validate;

fn main() {
    common::harness::main_checked(&[
        ("auto_mixed", auto_mixed::tests),
        ("bench_cli", bench_cli::tests),
        ("broken_pipe", broken_pipe::tests),
        ("device_choice", device_choice::tests),
        ("inspect_unknown", inspect_unknown::tests),
        ("mutants", mutants::tests),
        ("validate", validate::tests),
    ]);
}
