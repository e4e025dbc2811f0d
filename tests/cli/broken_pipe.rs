//! A reader that goes away (`tflite-wgpu inspect | head -1`, a pager quit early)
//! ends the command quietly with status 0, as SIGPIPE ends a C tool; it must
//! not panic with "failed printing to stdout".

use std::process::{Command, Stdio};

/// Run `args` with stdout's read end closed before the command writes.
fn closed_stdout(args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tflite-wgpu");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for tflite-wgpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{args:?} panicked on a closed stdout:\n{stderr}"
    );
    assert!(out.status.success(), "{args:?}: {:?}\n{stderr}", out.status);
}

fn inspect_into_a_closed_pipe() {
    closed_stdout(&["inspect", "--device", "cpu"]);
    closed_stdout(&["inspect", "--json", "--device", "cpu"]);
}

fn bench_into_a_closed_pipe() {
    closed_stdout(&["bench", "--device", "cpu", "--runs", "2", "--warmup", "0"]);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, inspect_into_a_closed_pipe),
        crate::case!(plain, bench_into_a_closed_pipe),
    ]
}
