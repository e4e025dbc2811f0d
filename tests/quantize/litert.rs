//! Every float model in ../shared/models, quantized in fp16, dynamic-int8, int8
//! and int16x8 (seeded random calibration), loads and runs in real LiteRT with its reference
//! kernels and with the default XNNPACK path, giving finite outputs; the fp16 form
//! keeps a cosine of at least 0.999 to the float model.
//!
//! The LiteRT runs are batched into one Python process
//! (tests/python/quantized_litert_check.py). Needs a Python with `ai-edge-litert`:
//! $TFLITE_WGPU_PYTHON or `.venv/bin/python`; its absence fails under CI.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tflite_wgpu::quantize::{self, Calibration, Mode, QuantizeOptions};
use tflite_wgpu::{model, npy, validate};

/// The seed of the inputs LiteRT runs the models on.
const INPUT_SEED: u64 = 0x1f7e_2026;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tflite-wgpu-quantize-litert-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The float models under `models/` (those that are already quantized are left
/// out, as `quantize` refuses them), sorted by path.
fn float_models(shared: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in ["models/gen", "models/real"] {
        let Ok(entries) = std::fs::read_dir(shared.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "tflite") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let graph = model::read(&bytes, &model::LoadOptions::default()).unwrap();
            if quantize::check_float_model(&graph).is_ok() {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                out.push((name, path));
            }
        }
    }
    out.sort();
    out
}

/// What the LiteRT checks said of one case: Ok(its fp16 cosine, if measured) or
/// Err(why it failed).
type Verdict = Result<Option<f64>, String>;

/// One quantized model for the LiteRT checks, or the error quantizing it gave.
struct Case {
    name: String,
    mode: &'static str,
    float: PathBuf,
    quantized: Result<PathBuf, String>,
    inputs: Vec<PathBuf>,
}

fn options(mode: Mode) -> QuantizeOptions {
    let mut o = QuantizeOptions::new(mode);
    o.calibration = Calibration::Random(2);
    o
}

fn every_float_model_quantizes_to_a_file_litert_runs() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::litert_python() else {
        return;
    };
    let dir = scratch();
    let models = float_models(&shared);
    assert!(
        models.len() >= 60,
        "only {} float models under {}",
        models.len(),
        shared.join("models").display()
    );
    let mut cases = Vec::new();
    for (name, path) in &models {
        let graph = model::read(&std::fs::read(path).unwrap(), &Default::default()).unwrap();
        let sample = validate::random_inputs(graph.main(), 1, INPUT_SEED).unwrap();
        let inputs: Vec<PathBuf> = sample[0]
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let p = dir.join(format!("{name}.input_{i}.npy"));
                npy::write(&p, x).unwrap();
                p
            })
            .collect();
        for mode in [Mode::Fp16, Mode::DynamicInt8, Mode::Int8, Mode::Int16x8] {
            let out = dir.join(format!("{name}.{}.tflite", mode.name()));
            let quantized = quantize::quantize_file(path, &out, &options(mode))
                .map(|_| out)
                .map_err(|e| format!("quantize: {e}"));
            cases.push(Case {
                name: name.clone(),
                mode: mode.name(),
                float: path.clone(),
                quantized,
                inputs: inputs.clone(),
            });
        }
    }
    let listed: Vec<serde_json::Value> = cases
        .iter()
        .filter_map(|c| {
            let q = c.quantized.as_ref().ok()?;
            Some(serde_json::json!({
                "name": c.name,
                "mode": c.mode,
                "float": c.float,
                "quantized": q,
                "inputs": c.inputs,
            }))
        })
        .collect();
    let list = dir.join("cases.json");
    std::fs::write(&list, serde_json::to_vec(&listed).unwrap()).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/quantized_litert_check.py");
    let run = Command::new(&py).arg(&script).arg(&list).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    // By "name mode": Ok(the fp16 cosine, if measured) or Err(why it failed).
    let mut verdict: HashMap<String, Verdict> = HashMap::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = format!(
            "{} {}",
            v["name"].as_str().unwrap(),
            v["mode"].as_str().unwrap()
        );
        let r = if v["ok"].as_bool() == Some(true) {
            Ok(v["cosine"].as_f64())
        } else {
            Err(v["why"].as_str().unwrap_or("").to_string())
        };
        verdict.insert(key, r);
    }
    assert!(
        run.status.success() && verdict.len() == listed.len(),
        "the LiteRT checks stopped after {} of {} cases ({}):\n{}",
        verdict.len(),
        listed.len(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let mut failures = Vec::new();
    let mut fp16_worst: Option<(f64, String)> = None;
    for c in &cases {
        let key = format!("{} {}", c.name, c.mode);
        let why = match (&c.quantized, verdict.get(&key)) {
            (Err(e), _) => Some(e.clone()),
            (Ok(_), None) => Some("no LiteRT verdict".to_string()),
            (Ok(_), Some(Err(why))) => Some(why.clone()),
            (Ok(_), Some(Ok(cosine))) => {
                if let Some(cos) = cosine {
                    if fp16_worst.as_ref().is_none_or(|(w, _)| cos < w) {
                        fp16_worst = Some((*cos, key.clone()));
                    }
                }
                None
            }
        };
        if let Some(why) = why {
            failures.push(format!("{key}: {why}"));
        }
    }
    eprintln!(
        "{} of {} quantized models pass in LiteRT; lowest fp16 cosine: {:?}",
        cases.len() - failures.len(),
        cases.len(),
        fp16_worst
    );
    assert!(
        failures.is_empty(),
        "{} of {} quantized models fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(
        shared,
        every_float_model_quantizes_to_a_file_litert_runs
    )]
}
