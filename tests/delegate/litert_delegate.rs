//! LiteRT itself, with this crate loaded as its external delegate
//! (`load_delegate("libtflite_wgpu.so", {...})`), runs every golden model within
//! docs/precision.md's tolerances at fp32 and fp16, claims exactly as many nodes as the
//! crate's own plan and the checked-in placement table put on the GPU, takes the real models whole, gives identical outputs over 100 invokes
//! with one host copy of each input per invoke,
//! leaks neither memory nor GPU buffers over 50 interpreter lifetimes, and rejects
//! bad options with a ValueError carrying the delegate's message.
//!
//! The checks live in tests/python/litert_delegate_check.py; this test finds the
//! cdylib that cargo built beside the test binary, writes the number of nodes each
//! model runs on the GPU as checked in (tests/data/gpu_expected.json, which the
//! crate's own plan must match), and runs the script with a time limit. Needs a Python with
//! `ai-edge-litert` ($TFLITE_WGPU_PYTHON or `.venv/bin/python`, which `.ci/run`
//! creates): skipped with a note when absent, except under CI=true.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tflite_wgpu::{Device, Interpreter, Model, Options};

/// Longest one script run may take.
const LIMIT: Duration = Duration::from_secs(300);

/// Prepared nodes on the GPU for each golden model, from the checked-in table
/// `tests/data/gpu_expected.json` (see `tests/common/expected.rs`), written as
/// `{model: count}` for the script's `--expected`. The crate's own plan for each
/// selected golden must agree with the table first, so that the delegate is held
/// to the reviewed numbers rather than to whatever the crate plans today.
fn expected_plan(shared: &Path, fp16: bool, out: &Path) {
    let key = common::expected::precision_key(fp16);
    let table = common::expected::load();
    let mut plan = serde_json::Map::new();
    for (model, row) in &table {
        if let Some(n) = row.get(key).and_then(|r| r.get("gpu_nodes")) {
            plan.insert(model.clone(), n.clone());
        }
    }
    for g in common::goldens(shared) {
        let model = Model::from_file(&g.model).expect("model loads");
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            ..Default::default()
        };
        let interp = Interpreter::with_options(&model, options).expect("GPU interpreter");
        let row = common::expected::placement(&interp).expect("a GPU plan");
        let want = plan.get(&g.name).unwrap_or_else(|| {
            panic!(
                "{}: no row at {key} in {} (regenerate it with UPDATE_EXPECTED=1 cargo test \
                 --test conformance gpu::)",
                g.name,
                common::expected::PATH
            )
        });
        assert_eq!(
            &row["gpu_nodes"],
            want,
            "{}: the crate's plan at {key} puts {} nodes on the GPU, {} says {want}",
            g.name,
            row["gpu_nodes"],
            common::expected::PATH
        );
    }
    std::fs::write(out, serde_json::to_string(&plan).unwrap()).unwrap();
}

/// Run the check script with `args`; panics with its output on failure or timeout.
fn check(py: &Path, args: &[&str]) {
    let shared = common::shared_dir().expect("shared data");
    let dir = std::env::temp_dir().join(format!(
        "tflite-wgpu-delegate-{}-{}",
        std::process::id(),
        args.join("_").replace(['/', '-'], "")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let expected = dir.join("plan.json");
    expected_plan(&shared, args.contains(&"fp16"), &expected);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/litert_delegate_check.py");
    let started = Instant::now();
    let mut child = Command::new(py)
        .arg(script)
        .arg("--lib")
        .arg(common::cdylib())
        .arg("--shared")
        .arg(&shared)
        .arg("--expected")
        .arg(&expected)
        .arg("--report")
        .arg(dir.join("report.json"))
        .args(args)
        .env(
            "XDG_RUNTIME_DIR",
            std::env::var_os("XDG_RUNTIME_DIR").unwrap_or("/tmp".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("the delegate check ran over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        use std::io::Read;
        let _ = s.read_to_string(&mut out);
    }
    println!("{out}");
    eprintln!("{args:?} took {:.1} s", started.elapsed().as_secs_f64());
    assert!(status.success(), "LiteRT with the delegate failed:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn litert_with_the_delegate_matches_the_goldens_at_fp32() {
    let (Some(py), Some(_)) = (common::litert_python(), common::shared_dir()) else {
        return;
    };
    check(
        &py,
        &[
            "--precision",
            "fp32",
            "--repeat",
            "op_conv3x3_same_relu",
            "--cycles",
            "mobilenet_v2_035_128_fp32",
            "--bad-options",
        ],
    );
}

fn litert_with_the_delegate_matches_the_goldens_at_fp16() {
    let (Some(py), Some(_)) = (common::litert_python(), common::shared_dir()) else {
        return;
    };
    check(
        &py,
        &[
            "--precision",
            "fp16",
            "--repeat",
            "face_detection_short_range",
        ],
    );
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(shared, litert_with_the_delegate_matches_the_goldens_at_fp32),
        crate::case!(shared, litert_with_the_delegate_matches_the_goldens_at_fp16),
    ]
}
