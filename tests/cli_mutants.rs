//! Mutants of the shared models through the built CLI: `inspect` and
//! `run --device cpu` must exit with a status (no signal, no panic) within 20 s.
//!
//! `TFLITE_WGPU_CLI_MUTANTS` sets how many mutants (default 200; the acceptance run
//! uses 1000).

mod common;

use common::mutate::{mutate, Rng};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

/// Wait for `child` at most `LIMIT`; kill it when it runs over.
fn wait(mut child: Child, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(status) => {
                let took = start.elapsed();
                // A status code (0 or an error exit); None means a signal.
                let code = status.code();
                assert!(code.is_some(), "{what}: killed by a signal");
                assert_ne!(code, Some(101), "{what}: panicked");
                return took;
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

fn cli(args: &[&str], model: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(args)
        .arg(model)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
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
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut slowest = (Duration::ZERO, String::new());
    for k in 0..count {
        let source = &models[rng.below(models.len())];
        let bytes = mutate(&std::fs::read(source).unwrap(), &mut rng);
        let path = dir.join(format!("mutant_{k}.tflite"));
        std::fs::write(&path, &bytes).unwrap();
        let name = source.file_name().unwrap().to_string_lossy().to_string();
        let out = dir.join("out");
        let out = out.to_str().unwrap();
        for args in [
            &["inspect"][..],
            &["run", "--device", "cpu", "--out-dir", out][..],
        ] {
            let what = format!("{} on mutant {k} of {name}", args.join(" "));
            let took = wait(cli(args, &path), &what);
            if took > slowest.0 {
                slowest = (took, what);
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{count} mutants; slowest: {} in {:?}", slowest.1, slowest.0);
}
