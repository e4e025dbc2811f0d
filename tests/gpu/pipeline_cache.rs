//! The persistent pipeline cache through the command line: `bench --cache-dir D`
//! fills D, a second run loads it, and files overwritten with garbage are ignored
//! with a warning while the run still succeeds.

use crate::common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `bench --json` on the GPU with the cache in `dir`: the document and stderr.
fn bench(dir: &Path) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(["bench", "--device", "gpu", "--json", "--runs", "1"])
        .args(["--warmup", "0", "--cache-dir"])
        .arg(dir)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run tflite-wgpu");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "bench failed: {stderr}");
    let doc = serde_json::from_slice(&out.stdout).expect("bench --json prints JSON");
    (doc, stderr)
}

fn a_cache_is_written_loaded_and_survives_garbage() {
    if !common::gpu::gpu_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tflite_wgpu_cache_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (cold, _) = bench(&dir);
    if cold["adapter"]["backend"] != "vulkan" {
        // Only Vulkan keeps a pipeline cache in wgpu; elsewhere there is none and
        // no error.
        assert!(cold["pipeline_cache"].is_null());
        return;
    }
    let cache = &cold["pipeline_cache"];
    assert_eq!(cache["hit"], false, "an empty directory gave {cache}");
    assert_eq!(cache["dir"], dir.display().to_string());
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the cache directory exists after the first run")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(bytes.starts_with(b"TFLWGPC1"));
    assert!(cache["bytes"].as_u64().unwrap() > 0);

    let (warm, stderr) = bench(&dir);
    assert_eq!(
        warm["pipeline_cache"]["hit"], true,
        "{}",
        warm["pipeline_cache"]
    );
    assert!(stderr.is_empty(), "a warm run printed {stderr}");

    for f in &files {
        std::fs::write(f, b"not a pipeline cache, just garbage bytes").unwrap();
    }
    let (after, stderr) = bench(&dir);
    assert_eq!(after["pipeline_cache"]["hit"], false);
    assert!(stderr.contains("warning: pipeline cache"), "{stderr}");
    // The run rewrote a valid cache over the garbage.
    assert!(std::fs::read(&files[0]).unwrap().starts_with(b"TFLWGPC1"));
    // Valid header, garbage pipeline data: wgpu's own checks start empty.
    let key_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut forged = bytes[..12 + key_len].to_vec();
    forged.extend_from_slice(&[0xA5; 256]);
    std::fs::write(&files[0], &forged).unwrap();
    bench(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(
        gpu,
        a_cache_is_written_loaded_and_survives_garbage
    )]
}
