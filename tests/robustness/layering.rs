//! The crate's layers import only layers below them (see docs/architecture.md's
//! architecture section): `graph` < `model` < `cpu` | `gpu` < `delegate` <
//! `runtime` < `interpreter` < `capi` | `cli` | `validate`, and `cpu` and `gpu`
//! never import each other. This test reads every source file of the layers that
//! must stay low and fails on a path that names a module above its layer.

use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules by layer, lowest first: a module may name modules of a
/// lower rank only (so `cpu` and `gpu`, of one rank, never name each other).
const RANKS: &[(&str, u32)] = &[
    ("graph", 0),
    ("model", 1),
    ("cpu", 2),
    ("gpu", 2),
    ("delegate", 3),
    ("runtime", 4),
    ("interpreter", 5),
    ("capi", 6),
    ("cli", 6),
    ("validate", 6),
    ("quantize", 6),
    ("python", 6),
    ("demo", 6),
];

/// The layers whose files are checked.
const CHECKED: &[&str] = &["graph", "model", "cpu", "gpu", "delegate", "runtime"];

/// The top-level modules `layer`'s files must not name.
fn forbidden(layer: &str) -> Vec<&'static str> {
    let rank = |m: &str| RANKS.iter().find(|(n, _)| *n == m).map(|(_, r)| *r);
    let own = rank(layer).expect("a ranked layer");
    RANKS
        .iter()
        .filter(|(m, r)| *r > own || (*r == own && *m != layer))
        .map(|(m, _)| *m)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::NAME` and `tflite_wgpu::NAME` module paths a source text names.
fn named_modules(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["crate::", "tflite_wgpu::"] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let after = &rest[i + prefix.len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.push((line_no + 1, name));
                rest = after;
            }
        }
    }
    found
}

fn lower_layers_never_import_upward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for layer in CHECKED {
        let forbidden = forbidden(layer);
        let mut files = Vec::new();
        let dir = src.join(layer);
        rust_files(&dir, &mut files);
        let single = src.join(format!("{layer}.rs"));
        if single.exists() {
            files.push(single);
        }
        assert!(!files.is_empty(), "layer {layer} has no source files");
        for f in files {
            let text = fs::read_to_string(&f).expect("read source");
            for (line, name) in named_modules(&text) {
                if forbidden.contains(&name.as_str()) {
                    violations.push(format!(
                        "{}:{line}: layer `{layer}` names `{name}`",
                        f.strip_prefix(&src).unwrap_or(&f).display()
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );
}

fn the_rule_sees_both_path_forms() {
    let found = named_modules("use crate::gpu::x; let y = tflite_wgpu::cpu::Data; // crate::cli");
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["gpu", "cpu"]);
}

fn peers_and_higher_layers_are_forbidden() {
    let gpu = forbidden("gpu");
    assert!(gpu.contains(&"cpu") && gpu.contains(&"delegate") && !gpu.contains(&"graph"));
    assert!(!forbidden("runtime").contains(&"delegate"));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, lower_layers_never_import_upward),
        crate::case!(plain, the_rule_sees_both_path_forms),
        crate::case!(plain, peers_and_higher_layers_are_forbidden),
    ]
}
