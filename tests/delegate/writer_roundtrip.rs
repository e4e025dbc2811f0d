//! The `.tflite` writer round-trips what the reader accepts, judged by the real
//! LiteRT interpreter:
//! - every model of ../shared/models, read and written back with no change, gives
//!   bit-identical outputs to the original in LiteRT on the same inputs (and so
//!   does the model written with every operator encoded from the IR);
//! - a model of one operator of each builtin the reader knows, built in the IR
//!   with non-default options and written, loads and runs in LiteRT, and where
//!   the CPU interpreter has a kernel it agrees with LiteRT.
//!
//! Needs ../shared ($TFLITE_WGPU_SHARED) and a Python with `ai-edge-litert`
//! ($TFLITE_WGPU_PYTHON, or `.venv/bin/python`); without them this prints a note,
//! except under CI, where their absence is a failure.

mod build;
use crate::common;
mod litert;
mod ops;

use litert::{Job, Outcome};
use std::path::{Path, PathBuf};
use tflite_wgpu::model;

/// A fresh scratch directory for one test.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-writer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Write `bytes` to `path` through a temporary file renamed into place.
pub fn write_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tflite.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn models(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            models(&p, out);
        } else if p.extension().is_some_and(|x| x == "tflite") {
            out.push(p);
        }
    }
}

fn every_shared_model_written_back_runs_bit_identically_in_litert() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch("shared");
    let mut paths = Vec::new();
    models(&shared.join("models"), &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no models under {}", shared.display());

    let mut jobs = Vec::new();
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let graph = match model::read(&bytes, &model::LoadOptions::default()) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: the reader refuses it: {e}"));
                continue;
            }
        };
        let goldens = shared.join("goldens").join(&name);
        let inputs: Vec<PathBuf> = (0..graph.main().inputs.len())
            .map(|i| goldens.join(format!("input_{i}.npy")))
            .collect();
        if let Some(missing) = inputs.iter().find(|p| !p.is_file()) {
            failures.push(format!("{name}: no input {}", missing.display()));
            continue;
        }
        let mut written = vec![path.clone()];
        for (tag, result) in [
            ("rewritten", model::write_from(&graph, &bytes)),
            ("encoded", model::write(&graph)),
        ] {
            match result {
                Ok(out) => {
                    // What was written reads back to the same graph.
                    let back = model::read(&out, &model::LoadOptions::default()).unwrap();
                    assert_eq!(back.subgraphs, graph.subgraphs, "{name} ({tag})");
                    assert_eq!(back.signatures, graph.signatures, "{name} ({tag})");
                    assert_eq!(back.metadata, graph.metadata, "{name} ({tag})");
                    let p = dir.join(format!("{name}.{tag}.tflite"));
                    write_file(&p, &out);
                    written.push(p);
                }
                Err(e) => failures.push(format!("{name}: the writer ({tag}) fails: {e}")),
            }
        }
        jobs.push(Job {
            name,
            models: written,
            inputs,
            out_dir: None,
            reference: false,
        });
    }
    let outcomes = litert::run(&py, &dir, &jobs);
    let mut identical = 0;
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        match outcome {
            Outcome::Ok if job.models.len() == 3 => identical += 1,
            Outcome::Ok => {}
            Outcome::Diff(d) => failures.push(format!("{}: outputs differ: {d}", job.name)),
            Outcome::Error(e) => failures.push(format!("{}: LiteRT: {e}", job.name)),
        }
    }
    eprintln!(
        "{identical} of {} models round-tripped bit-identical in LiteRT (written back and \
         re-encoded)",
        paths.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} models failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
    assert_eq!(identical, paths.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The builtins the reader decodes into a typed op (every other builtin code it
/// keeps as an unknown op).
fn known_builtins() -> Vec<&'static str> {
    model::BUILTIN_OPS
        .iter()
        .filter(|b| b.code != model::code::CUSTOM)
        .filter(|b| {
            !matches!(
                model::decode_op(0, b.code, None, None),
                Ok(tflite_wgpu::graph::Op::Unknown { .. })
            )
        })
        .map(|b| b.name)
        .collect()
}

/// Largest allowed difference between our CPU interpreter and LiteRT.
fn close(a: &[f64], b: &[f64], float: bool) -> Result<(), String> {
    let scale = b.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    let tol = if float { 1e-4 * scale + 1e-5 } else { 0.0 };
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if !((x - y).abs() <= tol || (x.is_nan() && y.is_nan())) {
            return Err(format!(
                "element {i}: ours {x}, LiteRT {y} (tolerance {tol})"
            ));
        }
    }
    Ok(())
}

fn one_operator_of_each_builtin_written_with_its_options_runs_in_litert() {
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch("ops");
    let cases = ops::cases();
    let known = known_builtins();
    let missing: Vec<_> = known
        .iter()
        .filter(|k| !cases.iter().any(|c| c.name == **k))
        .collect();
    assert!(missing.is_empty(), "builtins without a case: {missing:?}");

    let mut jobs = Vec::new();
    let mut written = Vec::new();
    for case in &cases {
        let bytes = model::write(&case.graph)
            .unwrap_or_else(|e| panic!("{}: the writer fails: {e}", case.name));
        let back = model::read(&bytes, &model::LoadOptions::default())
            .unwrap_or_else(|e| panic!("{}: the reader refuses the written file: {e}", case.name));
        assert_eq!(back.subgraphs, case.graph.subgraphs, "{}", case.name);
        let path = dir.join(format!("{}.tflite", case.name));
        write_file(&path, &bytes);
        let case_dir = dir.join(case.name);
        std::fs::create_dir_all(&case_dir).unwrap();
        let inputs: Vec<PathBuf> = case
            .inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = case_dir.join(format!("input_{i}.npy"));
                tflite_wgpu::npy::write(&p, t).unwrap();
                p
            })
            .collect();
        jobs.push(Job {
            name: case.name.to_string(),
            models: vec![path],
            inputs,
            out_dir: Some(case_dir),
            reference: true,
        });
        written.push(bytes);
    }
    let outcomes = litert::run(&py, &dir, &jobs);
    let mut failures = Vec::new();
    let mut compared = 0;
    for ((case, job), (outcome, bytes)) in
        cases.iter().zip(&jobs).zip(outcomes.iter().zip(&written))
    {
        if outcome != &Outcome::Ok {
            failures.push(format!("{}: LiteRT: {outcome:?}", case.name));
            continue;
        }
        if !case.cpu {
            continue;
        }
        let result = (|| -> Result<(), String> {
            let model = tflite_wgpu::Model::from_bytes(bytes).map_err(|e| e.to_string())?;
            let mut it = tflite_wgpu::Interpreter::new(&model).map_err(|e| e.to_string())?;
            for (i, t) in case.inputs.iter().enumerate() {
                it.set_input(i, t.clone()).map_err(|e| e.to_string())?;
            }
            it.invoke().map_err(|e| e.to_string())?;
            for i in 0..it.num_outputs() {
                let dir = job.out_dir.as_ref().unwrap();
                let want = tflite_wgpu::npy::read(dir.join(format!("output_{i}.npy")))
                    .map_err(|e| e.to_string())?;
                let got = it.output(i).map_err(|e| e.to_string())?;
                if got.shape != want.shape || got.dtype() != want.dtype() {
                    return Err(format!(
                        "output {i}: ours {:?}{:?}, LiteRT {:?}{:?}",
                        got.dtype(),
                        got.shape,
                        want.dtype(),
                        want.shape
                    ));
                }
                let float = matches!(got.dtype(), tflite_wgpu::DType::F32);
                close(&got.data.to_f64(), &want.data.to_f64(), float)
                    .map_err(|e| format!("output {i}: {e}"))?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => compared += 1,
            Err(e) => failures.push(format!("{} ({}): CPU interpreter: {e}", case.name, case.op)),
        }
    }
    eprintln!(
        "{} one-operator models ({} builtins known to the reader, each covered); {} ran \
         in LiteRT, {compared} also matched the CPU interpreter",
        cases.len(),
        known.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn quantized_pack_models_load_and_run_in_litert() {
    use tflite_wgpu::quantize::{quantize_file, Calibration, Mode, QuantizeOptions};
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch("quantized");
    let name = "op_pack_unpack";
    let source = shared.join("models/gen").join(format!("{name}.tflite"));
    let input = shared.join("goldens").join(name).join("input_0.npy");
    let mut jobs = Vec::new();
    for mode in [Mode::Fp16, Mode::WeightInt8, Mode::DynamicInt8, Mode::Int8] {
        let mut options = QuantizeOptions::new(mode);
        options.calibration = Calibration::Random(4);
        let path = dir.join(format!("{name}_{}.tflite", mode.name()));
        let report = quantize_file(&source, &path, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", mode.name()));
        assert!(
            !report.outputs.is_empty(),
            "{}: an empty report",
            mode.name()
        );
        // Every PACK keeps values_count = its number of inputs.
        let bytes = std::fs::read(&path).unwrap();
        let graph = model::read(&bytes, &model::LoadOptions::default()).unwrap();
        assert!(graph.main().nodes.iter().any(|n| n.op.name() == "PACK"));
        jobs.push(Job {
            name: format!("{name}_{}", mode.name()),
            models: vec![path],
            inputs: vec![input.clone()],
            out_dir: None,
            reference: false,
        });
    }
    let outcomes = litert::run(&py, &dir, &jobs);
    let failures: Vec<String> = jobs
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o != Outcome::Ok)
        .map(|(j, o)| format!("{}: {o:?}", j.name))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(
            shared,
            every_shared_model_written_back_runs_bit_identically_in_litert
        ),
        crate::case!(
            plain,
            one_operator_of_each_builtin_written_with_its_options_runs_in_litert
        ),
        crate::case!(shared, quantized_pack_models_load_and_run_in_litert),
    ]
}
