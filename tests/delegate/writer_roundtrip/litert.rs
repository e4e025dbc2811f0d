//! Running batches of models in the real LiteRT interpreter (`ai_edge_litert`), in
//! one Python process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs each job's models on its inputs: the first with LiteRT's reference or
/// builtin kernels (without XNNPACK), or its default kernels where only those know
/// a custom op;
/// the others with the same kernels. Saves the first model's outputs to the job's
/// directory and prints one line per job: `RESULT <name> ok|diff|error <detail>`.
const SCRIPT: &str = r#"
import json, os, sys, traceback
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

def run(path, inputs, resolver):
    it = Interpreter(model_path=path, num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise RuntimeError(f"{len(details)} inputs, {len(inputs)} given")
    for d, x in zip(details, inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]

for job in json.load(open(sys.argv[1])):
    name = job["name"]
    try:
        inputs = [np.load(p) for p in job["inputs"]]
        # The reference kernels lack a few ops (CEIL, ROUND, ELU) and only the
        # default resolver knows MediaPipe's custom ops: fall through on those.
        resolvers = [OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, OpResolverType.AUTO]
        if job["reference"]:
            resolvers.insert(0, OpResolverType.BUILTIN_REF)
        for k, resolver in enumerate(resolvers):
            try:
                first = run(job["models"][0], inputs, resolver)
                break
            except Exception as e:
                text = str(e).lower()
                if k + 1 == len(resolvers) or not ("custom op" in text or "didn't find op" in text):
                    raise
        if job.get("out_dir"):
            for i, y in enumerate(first):
                np.save(os.path.join(job["out_dir"], f"output_{i}.npy"), y)
        bad = []
        for m in job["models"][1:]:
            other = run(m, inputs, resolver)
            if len(other) != len(first):
                bad.append(f"{os.path.basename(m)}: {len(other)} outputs, not {len(first)}")
                continue
            for i, (a, b) in enumerate(zip(first, other)):
                if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                    d = "" if a.dtype != b.dtype or a.shape != b.shape else \
                        f", max |d| {np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))}"
                    bad.append(f"{os.path.basename(m)} output {i}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}{d}")
        print("RESULT", name, "diff" if bad else "ok", "; ".join(bad), flush=True)
    except Exception as e:
        msg = " ".join(str(e).split())[:400]
        print("RESULT", name, "error", msg, flush=True)
"#;

/// One batch entry: models run on the same inputs.
pub struct Job {
    /// A name for the report.
    pub name: String,
    /// The models; every one after the first must give bit-identical outputs.
    pub models: Vec<PathBuf>,
    /// `.npy` inputs, in the models' input order.
    pub inputs: Vec<PathBuf>,
    /// Where the first model's outputs go as `output_<i>.npy`, if anywhere.
    pub out_dir: Option<PathBuf>,
    /// Run LiteRT's reference kernels (which the CPU interpreter matches) rather
    /// than its faster builtin ones.
    pub reference: bool,
}

/// The outcome of one job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All models ran and agree bit for bit.
    Ok,
    /// They ran and differ (the detail says where).
    Diff(String),
    /// LiteRT refused a model or failed running it.
    Error(String),
}

/// Run `jobs` in one Python process; one outcome per job, in order. A job with no
/// RESULT line (the process died on it) is an error.
pub fn run(py: &Path, dir: &Path, jobs: &[Job]) -> Vec<Outcome> {
    let list: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            serde_json::json!({
                "name": j.name,
                "models": j.models,
                "inputs": j.inputs,
                "out_dir": j.out_dir,
                "reference": j.reference,
            })
        })
        .collect();
    let list_path = dir.join("jobs.json");
    let mut f = std::fs::File::create(&list_path).unwrap();
    f.write_all(serde_json::to_string(&list).unwrap().as_bytes())
        .unwrap();
    drop(f);
    let out = Command::new(py)
        .args(["-c", SCRIPT])
        .arg(&list_path)
        .output()
        .expect("run Python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut results = std::collections::HashMap::new();
    for line in stdout.lines() {
        let mut parts = line.splitn(4, ' ');
        if parts.next() != Some("RESULT") {
            continue;
        }
        let (Some(name), Some(status)) = (parts.next(), parts.next()) else {
            continue;
        };
        let detail = parts.next().unwrap_or("").to_string();
        let outcome = match status {
            "ok" => Outcome::Ok,
            "diff" => Outcome::Diff(detail),
            _ => Outcome::Error(detail),
        };
        results.insert(name.to_string(), outcome);
    }
    jobs.iter()
        .map(|j| {
            results.remove(&j.name).unwrap_or_else(|| {
                Outcome::Error(format!(
                    "no result (Python exited with {}: {})",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ))
            })
        })
        .collect()
}
