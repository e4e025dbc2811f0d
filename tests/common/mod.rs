//! Helpers shared by the integration tests: locating ../shared, selecting golden
//! models with `GOLDEN_FILTER`, and judging outputs against LiteRT goldens with
//! docs/precision.md's tolerances.
//!
//! A missing prerequisite (the shared data, a filter that selects nothing) is a
//! failure under `CI=true` and one printed note elsewhere, so that a CI run cannot
//! pass by skipping.

/// The repository's root (this crate lives in `tests/common`).
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

pub mod expected;
pub mod gpu;
pub mod harness;
pub mod mutate;

use std::io::Write;
use std::path::{Path, PathBuf};
use tflite_wgpu::{npy, Interpreter, Model, Tensor};

/// True when the tests run under CI: `CI` is set to anything but "", "0" or "false".
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// A prerequisite of the calling test is missing: under CI this panics with `what`
/// (the test fails); elsewhere it prints one note and the caller returns.
///
/// The note goes to the process's stderr directly, past the test harness's output
/// capture, so that it shows in a plain `cargo test` run of a passing test.
pub fn missing(what: &str) {
    assert!(!in_ci(), "{what} (CI is set: a missing prerequisite fails)");
    let test = harness::note_skip(what);
    let _ = writeln!(std::io::stderr(), "NOTE: {test}: {what}; skipping");
}

/// The shared test-data directory: $TFLITE_WGPU_SHARED, or ../shared beside the crate.
///
/// When it is absent (no `goldens/` inside), this fails the test under CI and
/// otherwise prints a note and returns None: every test that needs shared data
/// starts with `let Some(shared) = common::shared_dir() else { return };`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = shared_path();
    if dir.join("goldens").is_dir() {
        Some(dir)
    } else {
        missing(&format!(
            "shared test data not found at {} (set TFLITE_WGPU_SHARED to the directory \
             holding goldens/ and models/)",
            dir.display()
        ));
        None
    }
}

/// Where the shared test set is looked for: $TFLITE_WGPU_SHARED, or ../shared
/// beside the crate (it may not exist).
pub fn shared_path() -> PathBuf {
    std::env::var_os("TFLITE_WGPU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(REPO).join("../shared"))
}

/// A Python with LiteRT (`ai_edge_litert`) and numpy: $TFLITE_WGPU_PYTHON, or
/// `.venv/bin/python` beside the crate. When it is missing this fails the test
/// under CI and otherwise notes it and returns None (see [`missing`]).
pub fn litert_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TFLITE_WGPU_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(REPO).join(".venv/bin/python"));
    let ok = std::process::Command::new(&candidate)
        .args(["-c", "import ai_edge_litert, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    missing(&format!(
        "no Python with ai-edge-litert at {} (set TFLITE_WGPU_PYTHON)",
        candidate.display()
    ));
    None
}

/// The delegate library cargo built with the library for this test binary:
/// `cargo test` writes it to `deps/` beside the binary (`cargo build` also copies
/// it one level up); the newer of the two is the one built from the current sources.
pub fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps directory");
    let name = format!(
        "{}tflite_wgpu{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [deps.join(&name), deps.parent().unwrap_or(deps).join(&name)]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).and_then(|m| m.modified()).ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no {name} beside {}", exe.display()))
}

/// $GOLDEN_FILTER, when set and not empty.
pub fn golden_filter() -> Option<String> {
    std::env::var("GOLDEN_FILTER")
        .ok()
        .filter(|f| !f.is_empty())
}

/// Whether golden `name` is selected by $GOLDEN_FILTER: one substring, or several
/// separated by `|` (any of them); every golden when the variable is unset or empty.
pub fn golden_selected(name: &str) -> bool {
    golden_filter().is_none_or(|f| f.split('|').any(|part| name.contains(part)))
}

/// One golden case: model, inputs, expected outputs and tolerances.
pub struct Golden {
    pub name: String,
    pub model: PathBuf,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<Tensor>,
    /// Per output: (xnnpack_vs_ref_max_abs, ref_max_abs).
    pub stats: Vec<(f64, f64)>,
}

/// The golden cases selected by $GOLDEN_FILTER (see [`golden_selected`]), sorted
/// by name.
///
/// When none is selected (a filter that matches no model, or an empty goldens
/// directory) this fails the test under CI and otherwise prints a note and returns
/// an empty list.
pub fn goldens(shared: &Path) -> Vec<Golden> {
    let mut names: Vec<String> = std::fs::read_dir(shared.join("goldens"))
        .expect("goldens dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| golden_selected(n))
        .collect();
    names.sort();
    if names.is_empty() {
        missing(&match golden_filter() {
            Some(f) => format!(
                "GOLDEN_FILTER={f:?} matches no golden model in {}",
                shared.join("goldens").display()
            ),
            None => format!("no golden model in {}", shared.join("goldens").display()),
        });
    }
    names
        .into_iter()
        .map(|name| golden(shared, &name))
        .collect()
}

/// The golden case `name` (a directory of `shared/goldens`).
pub fn golden(shared: &Path, name: &str) -> Golden {
    let dir = shared.join("goldens").join(name);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest json");
    let model_file = manifest["model"].as_str().expect("model name");
    let model = ["gen", "real"]
        .iter()
        .map(|d| shared.join("models").join(d).join(model_file))
        .find(|p| p.exists())
        .expect("model file");
    let n_in = manifest["inputs"].as_array().map_or(0, |a| a.len());
    let outs = manifest["outputs"].as_array().cloned().unwrap_or_default();
    Golden {
        inputs: (0..n_in)
            .map(|i| npy::read(dir.join(format!("input_{i}.npy"))).expect("input"))
            .collect(),
        outputs: (0..outs.len())
            .map(|i| npy::read(dir.join(format!("output_{i}.npy"))).expect("output"))
            .collect(),
        stats: outs
            .iter()
            .map(|o| {
                (
                    o["xnnpack_vs_ref_max_abs"].as_f64().unwrap_or(0.0),
                    o["ref_max_abs"].as_f64().unwrap_or(0.0),
                )
            })
            .collect(),
        name: name.to_string(),
        model,
    }
}

/// Which tolerance rule to apply to float outputs.
#[derive(Clone, Copy, Debug)]
pub enum Precision {
    Fp32,
    Fp16,
}

/// Compare one output; Err describes the worst mismatch.
pub fn judge(
    got: &Tensor,
    want: &Tensor,
    stats: (f64, f64),
    precision: Precision,
) -> Result<f64, String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {} != {}", got.dtype(), want.dtype()));
    }
    if got.shape != want.shape {
        return Err(format!("shape {:?} != {:?}", got.shape, want.shape));
    }
    let g = got.data.to_f64();
    let w = want.data.to_f64();
    let (xnn, ref_max) = stats;
    // docs/precision.md: fp16 is never judged stricter than fp32.
    let fp32_tol = 1e-4 * ref_max.max(1.0) + 4.0 * xnn;
    let tol = if want.dtype().is_float() {
        match precision {
            Precision::Fp32 => fp32_tol,
            Precision::Fp16 => (2e-2 * ref_max.max(1.0)).max(fp32_tol),
        }
    } else {
        1.0
    };
    let mut worst = (0.0f64, 0usize);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        if !a.is_finite() && want.dtype().is_float() && b.is_finite() {
            return Err(format!("non-finite value {a} at {i} (want {b})"));
        }
        let d = (a - b).abs();
        if d > worst.0 || d.is_nan() {
            worst = (d, i);
        }
    }
    if worst.0 <= tol {
        Ok(worst.0)
    } else {
        Err(format!(
            "max |d| = {:.3e} at {} (got {}, want {}) > tol {:.3e}",
            worst.0, worst.1, g[worst.1], w[worst.1], tol
        ))
    }
}

/// Run a golden on the CPU interpreter; Err lists what failed.
pub fn run_cpu(case: &Golden) -> Result<Vec<f64>, String> {
    run_with(case, tflite_wgpu::Options::default(), Precision::Fp32)
}

/// Run a golden with the given options, judged with `precision`'s tolerance.
pub fn run_with(
    case: &Golden,
    options: tflite_wgpu::Options,
    precision: Precision,
) -> Result<Vec<f64>, String> {
    let model = Model::from_file(&case.model).map_err(|e| format!("load: {e}"))?;
    let mut interp =
        Interpreter::with_options(&model, options).map_err(|e| format!("prepare: {e}"))?;
    run_prepared(case, &mut interp, precision)
}

/// Run a golden on an interpreter prepared for its model, judged with
/// `precision`'s tolerance.
pub fn run_prepared(
    case: &Golden,
    interp: &mut Interpreter,
    precision: Precision,
) -> Result<Vec<f64>, String> {
    for (i, t) in case.inputs.iter().enumerate() {
        interp
            .set_input(i, t.clone())
            .map_err(|e| format!("input: {e}"))?;
    }
    interp.invoke().map_err(|e| format!("invoke: {e}"))?;
    let mut errs = Vec::new();
    let mut worst = Vec::new();
    for (i, want) in case.outputs.iter().enumerate() {
        let got = interp.output(i).map_err(|e| e.to_string())?;
        match judge(got, want, case.stats[i], precision) {
            Ok(d) => worst.push(d),
            Err(e) => errs.push(format!("output {i}: {e}")),
        }
    }
    if errs.is_empty() {
        Ok(worst)
    } else {
        Err(errs.join("; "))
    }
}
