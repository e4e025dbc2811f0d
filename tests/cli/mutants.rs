//! Mutants of the shared models through the built CLI: `inspect` and
//! `run --device cpu` must exit with a status (no signal, no panic) within 20 s.
//!
//! `run` gets one seeded `.npy` per input of the shape and dtype the mutant
//! declares, so mutants that load and prepare go on through invoke. The test counts
//! the mutants that reach invoke (the library prepares them and takes the inputs,
//! the steps `run` takes before invoke) and those whose `run` succeeds, and fails
//! when either count is zero.
//!
//! `TFLITE_WGPU_CLI_MUTANTS` sets how many mutants (default 200; the acceptance run
//! uses 1000).

use crate::common;

use common::mutate::{mutate, Rng};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tflite_wgpu::{npy, DType, Data, Interpreter, Model, Tensor};

const LIMIT: Duration = Duration::from_secs(20);

/// Wait for `child` at most `LIMIT`; kill it when it runs over. Returns how long
/// it took and whether it exited with status 0.
fn wait(mut child: Child, what: &str) -> (Duration, bool) {
    let start = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(status) => {
                let took = start.elapsed();
                // A status code (0 or an error exit); None means a signal.
                let code = status.code();
                assert!(code.is_some(), "{what}: killed by a signal");
                assert_ne!(code, Some(101), "{what}: panicked");
                return (took, code == Some(0));
            }
            None if start.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {LIMIT:?}");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn cli(args: &[&str], inputs: &[PathBuf], model: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"));
    command.args(args);
    for input in inputs {
        command.arg("--input").arg(input);
    }
    command
        .arg(model)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Most elements of one generated input; from an input declaring more on, a mutant
/// gets no files (its `run` then stops at the input count).
const MAX_INPUT_ELEMENTS: usize = 1 << 20;

/// A seeded tensor of `shape` and `dtype`: floats in [-1, 1), integers in
/// [-20, 20] (unsigned: [0, 40]), bools about half true; None for a shape over
/// [`MAX_INPUT_ELEMENTS`] or a dtype without generated values.
fn seeded(dtype: DType, shape: &[usize], seed: u32) -> Option<Tensor> {
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_INPUT_ELEMENTS)?;
    let v = common::gpu::values(n, seed);
    let ints = || v.iter().map(|x| (x * 20.0).round() as i64);
    let data = match dtype {
        DType::F32 => Data::F32(v.clone()),
        DType::F16 => Data::F16(v.iter().map(|&x| half::f16::from_f32(x)).collect()),
        DType::I8 => Data::I8(ints().map(|x| x as i8).collect()),
        DType::U8 => Data::U8(ints().map(|x| (x + 20) as u8).collect()),
        DType::I16 => Data::I16(ints().map(|x| x as i16).collect()),
        DType::I32 => Data::I32(ints().map(|x| x as i32).collect()),
        DType::U32 => Data::U32(ints().map(|x| (x + 20) as u32).collect()),
        DType::I64 => Data::I64(ints().collect()),
        DType::Bool => Data::Bool(v.iter().map(|&x| x > 0.0).collect()),
        _ => return None,
    };
    Some(Tensor::new(shape.to_vec(), data))
}

/// Seeded inputs for the mutant at `path`, written as .npy files under `dir`, as
/// `run --device cpu` will take them. Returns the files and whether the library
/// loads and prepares the mutant and takes every input, that is whether `run`
/// reaches invoke with these files.
fn inputs_for(path: &Path, dir: &Path, seed: u32) -> (Vec<PathBuf>, bool) {
    let Ok(model) = Model::from_file(path) else {
        return (Vec::new(), false);
    };
    let Ok(mut interp) = Interpreter::new(&model) else {
        return (Vec::new(), false);
    };
    let mut files = Vec::new();
    let mut accepted = true;
    for i in 0..interp.num_inputs() {
        let Ok(info) = interp.input_info(i) else {
            return (files, false);
        };
        let Some(t) = seeded(info.dtype, &info.shape, seed.wrapping_add(i as u32)) else {
            return (files, false);
        };
        let file = dir.join(format!("input_{i}.npy"));
        if npy::write(&file, &t).is_err() {
            return (files, false);
        }
        files.push(file);
        accepted &= interp.set_input(i, t).is_ok();
    }
    (files, accepted)
}

fn cli_survives_mutated_models() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let count: usize = std::env::var("TFLITE_WGPU_CLI_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut models: Vec<_> = std::fs::read_dir(shared.join("models/gen"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.metadata().map(|m| m.len() < 64 << 10).unwrap_or(false))
        .collect();
    models.sort();
    assert!(
        !models.is_empty(),
        "no model under 64 KiB in {}",
        shared.join("models/gen").display()
    );
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    let mut slowest = (Duration::ZERO, String::new());
    let (mut reached, mut completed) = (0usize, 0usize);
    for k in 0..count {
        let source = &models[rng.below(models.len())];
        let bytes = mutate(&std::fs::read(source).unwrap(), &mut rng);
        let path = dir.join(format!("mutant_{k}.tflite"));
        std::fs::write(&path, &bytes).unwrap();
        let name = source.file_name().unwrap().to_string_lossy().to_string();
        let (inputs, reaches_invoke) = inputs_for(&path, &dir, k as u32);
        let out = dir.join("out");
        let out = out.to_str().unwrap();
        for (args, inputs) in [
            (&["inspect"][..], &[][..]),
            (
                &["run", "--device", "cpu", "--out-dir", out][..],
                &inputs[..],
            ),
        ] {
            let what = format!("{} on mutant {k} of {name}", args.join(" "));
            let (took, ok) = wait(cli(args, inputs, &path), &what);
            if took > slowest.0 {
                slowest = (took, what.clone());
            }
            if args[0] == "run" {
                assert!(
                    !ok || reaches_invoke,
                    "{what}: run succeeded where the library failed before invoke"
                );
                completed += usize::from(ok);
            }
        }
        reached += usize::from(reaches_invoke);
        std::fs::remove_file(&path).unwrap();
        for input in &inputs {
            let _ = std::fs::remove_file(input);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{count} mutants: {reached} reach invoke, {completed} run to the end; \
         slowest: {} in {:?}",
        slowest.1, slowest.0
    );
    assert!(reached > 0, "no mutant reached invoke");
    assert!(completed > 0, "no mutant ran through invoke to its outputs");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(shared, cli_survives_mutated_models)]
}
