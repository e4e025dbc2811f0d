//! The crate's layers import only layers below them (see docs/architecture.md's
//! architecture section): `graph` < `model` < `cpu` | `gpu` < `delegate` <
//! `runtime` < `interpreter` < `capi` | `cli` | `validate`, and `cpu` and `gpu`
//! never import each other. This test reads every source file of the layers that
//! must stay low and fails on a path that names a module above its layer, and
//! checks that no two files of `src/` import each other in a circle (through
//! their module-level `use` declarations).

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

/// The module path of a source file under `src/` (`gpu/ops/conv/float.rs` is
/// `crate::gpu::ops::conv::float`, `gpu/mod.rs` is `crate::gpu`, `lib.rs` is `crate`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = vec!["crate".into()];
    for c in rel.iter() {
        parts.push(c.to_string_lossy().into_owned());
    }
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts.join("::")
}

/// The paths the module-level `use` declarations of `text` import (a private
/// `use` at the start of a line, braces expanded), as written. Re-exports
/// (`pub use`) are a module's facade, not what its code depends on.
fn module_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let decl = line.strip_prefix("use ");
        let Some(decl) = decl else { continue };
        let mut stmt = decl.to_string();
        while !stmt.contains(';') {
            match lines.next() {
                Some(l) => stmt.push_str(l.split("//").next().unwrap_or("")),
                None => break,
            }
        }
        // `X as Y` imports X: mark the rename before the spaces go.
        let stmt: String = stmt
            .split(';')
            .next()
            .unwrap_or("")
            .replace(" as ", "@")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        expand(&stmt, &mut out);
    }
    out
}

/// Expand one use tree (`a::{b,c::{d,e}}`) into full paths.
fn expand(tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        out.push(tree.split('@').next().unwrap_or(tree).to_string());
        return;
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        if item == "self" {
            out.push(prefix.trim_end_matches("::").to_string());
        } else {
            expand(&format!("{prefix}{item}"), out);
        }
    }
}

/// The file module that path `used`, imported from module `from`, lands in:
/// the longest prefix of its absolute path that is a file's module (None for
/// other crates).
fn target(used: &str, from: &str, modules: &[String]) -> Option<String> {
    let mut segs: Vec<&str> = used.split("::").collect();
    let mut path: Vec<String> = match segs.first().copied() {
        Some("crate") => {
            segs.remove(0);
            vec!["crate".into()]
        }
        Some("self") => {
            segs.remove(0);
            from.split("::").map(String::from).collect()
        }
        Some("super") => {
            let mut p: Vec<String> = from.split("::").map(String::from).collect();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                p.pop();
            }
            p
        }
        Some(first) => {
            let child = format!("{from}::{first}");
            if !modules
                .iter()
                .any(|m| *m == child || m.starts_with(&format!("{child}::")))
            {
                return None;
            }
            from.split("::").map(String::from).collect()
        }
        None => return None,
    };
    let mut best = None;
    if modules.contains(&path.join("::")) {
        best = Some(path.join("::"));
    }
    for s in segs {
        path.push(s.to_string());
        let m = path.join("::");
        if modules.contains(&m) {
            best = Some(m);
        }
    }
    best
}

/// Groups of files that import each other in a circle (strongly connected
/// components of more than one file of the module-level `use` graph).
fn import_cycles(src: &Path) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: Vec<String> = files.iter().map(|f| module_of(src, f)).collect();
    let edges: Vec<Vec<usize>> = files
        .iter()
        .zip(&modules)
        .map(|(f, from)| {
            let text = fs::read_to_string(f).expect("read source");
            let mut to: Vec<usize> = module_uses(&text)
                .iter()
                .filter_map(|u| target(u, from, &modules))
                .filter_map(|m| modules.iter().position(|x| *x == m))
                .filter(|&t| modules[t] != *from)
                .collect();
            to.sort_unstable();
            to.dedup();
            to
        })
        .collect();
    // Kosaraju: reachability both ways.
    let n = modules.len();
    let reach = |start: usize, forward: bool| -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            if std::mem::replace(&mut seen[v], true) {
                continue;
            }
            for w in 0..n {
                let edge = if forward {
                    edges[v].contains(&w)
                } else {
                    edges[w].contains(&v)
                };
                if edge && !seen[w] {
                    stack.push(w);
                }
            }
        }
        seen
    };
    let mut done = vec![false; n];
    let mut cycles = Vec::new();
    for v in 0..n {
        if done[v] {
            continue;
        }
        let (fw, bw) = (reach(v, true), reach(v, false));
        let mut group: Vec<String> = (0..n)
            .filter(|&w| fw[w] && bw[w])
            .inspect(|&w| done[w] = true)
            .map(|w| modules[w].clone())
            .collect();
        if group.len() > 1 {
            group.sort();
            cycles.push(group);
        }
    }
    cycles.sort();
    cycles
}

fn no_file_imports_another_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let cycles = import_cycles(&src);
    assert!(
        cycles.is_empty(),
        "files that import each other in a circle: {cycles:#?}"
    );
}

fn the_cycle_check_sees_use_trees() {
    let text =
        "use super::{a::{B, c}, d};\nuse crate::x::{self, Y as W};\n    use z;\npub use q;\n";
    let uses = module_uses(text);
    assert_eq!(
        uses,
        [
            "super::a::B",
            "super::a::c",
            "super::d",
            "crate::x",
            "crate::x::Y"
        ]
    );
    let modules: Vec<String> = [
        "crate",
        "crate::gpu",
        "crate::gpu::ops",
        "crate::gpu::ops::a",
    ]
    .map(String::from)
    .to_vec();
    let from = "crate::gpu::ops::b";
    assert_eq!(
        target("super::a::B", from, &modules).as_deref(),
        Some("crate::gpu::ops::a")
    );
    assert_eq!(
        target("super::LowerCtx", from, &modules).as_deref(),
        Some("crate::gpu::ops")
    );
    assert_eq!(target("std::fs", from, &modules), None);
    assert_eq!(
        target("ops::a", "crate::gpu", &modules).as_deref(),
        Some("crate::gpu::ops::a")
    );
}

/// Every module path `text` names anywhere in its code: in `use`
/// declarations at any depth (braces expanded) and in qualified paths
/// (`super::ops::shader(..)`, `crate::gpu::ops::Shader`, `$crate::..` in macro
/// bodies), outside comments and string literals. Each comes with the inline
/// modules it is written in (`["tests"]` inside `mod tests { .. }`), which its
/// `self` and `super` are relative to.
fn named_paths(text: &str) -> Vec<(String, Vec<String>)> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            // Drop string literals, then comments.
            let mut kept = String::new();
            let mut in_str = false;
            let mut prev = ' ';
            for c in l.chars() {
                if c == '"' && prev != '\\' {
                    in_str = !in_str;
                    kept.push(' ');
                } else if !in_str {
                    kept.push(c);
                }
                prev = c;
            }
            let kept = kept.split("//").next().unwrap_or("").to_string();
            kept.trim().to_string()
        })
        .collect();
    let mut out = Vec::new();
    // Inline modules open around the current line: (name, depth outside it).
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0;
    let mut k = 0;
    while k < lines.len() {
        let line = &lines[k];
        let within: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        let decl = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub(super) "))
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(" {")) {
            inline.push((name.trim().to_string(), depth));
        }
        if line.starts_with("use ") {
            let mut stmt = line.clone();
            while !stmt.contains(';') && k + 1 < lines.len() {
                k += 1;
                stmt.push_str(&lines[k]);
            }
            for u in module_uses(&stmt) {
                out.push((u, within.clone()));
            }
        }
        let mut token = String::new();
        for c in line.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                token.push(c);
                continue;
            }
            let path = token.trim_matches(':');
            if path.contains("::") && !token.starts_with(':') {
                out.push((path.to_string(), within.clone()));
            }
            token.clear();
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        while inline.last().is_some_and(|(_, d)| depth <= *d) {
            inline.pop();
        }
        k += 1;
    }
    out
}

/// The pipeline layer (the shader handles, the pipeline cache and its disk
/// cache) compiles the shaders a dispatch hands it: no file of it names the op
/// families (`gpu::ops`), in a `use` or in a path anywhere in its code, and the
/// shader handles name no other module of the crate (a leaf).
fn the_pipeline_layer_does_not_import_the_ops() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: Vec<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut violations = Vec::new();
    for file in ["gpu/shader.rs", "gpu/pipeline.rs", "gpu/pipeline_cache.rs"] {
        let path = src.join(file);
        let text = fs::read_to_string(&path).expect("a pipeline-layer file");
        let from = module_of(&src, &path);
        for (used, within) in named_paths(&text) {
            let inner = std::iter::once(from.clone())
                .chain(within)
                .collect::<Vec<_>>();
            let Some(to) = target(&used, &inner.join("::"), &modules) else {
                continue;
            };
            let leaf = file == "gpu/shader.rs" && to != from;
            if leaf || to == "crate::gpu::ops" || to.starts_with("crate::gpu::ops::") {
                violations.push(format!("{file}: {used} ({to})"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the pipeline layer names:\n{}",
        violations.join("\n")
    );
}

fn the_path_scan_sees_inline_paths_and_skips_comments() {
    let text = "fn f() {\n    let s = super::ops::shader(n); // crate::cli::x\n    \
                let t = \"crate::gpu::ops\";\n    use super::{ops::Shader, x};\n}\n\
                $crate::gpu::shader::Uniform\n\
                #[cfg(test)]\nmod tests {\n    use super::*;\n    fn g() {\n        \
                crate::gpu::ops::all();\n    }\n}\nuse self::y::Z;\n";
    let paths = named_paths(text);
    let at = |p: &str| {
        paths
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, w)| w.join("::"))
    };
    assert_eq!(at("super::ops::shader").as_deref(), Some(""), "{paths:?}");
    assert_eq!(at("super::ops::Shader").as_deref(), Some(""));
    assert_eq!(at("crate::gpu::shader::Uniform").as_deref(), Some(""));
    assert_eq!(at("super::*").as_deref(), Some("tests"));
    assert_eq!(at("crate::gpu::ops::all").as_deref(), Some("tests"));
    assert_eq!(at("self::y::Z").as_deref(), Some(""));
    assert!(!paths
        .iter()
        .any(|(p, _)| p.contains("cli") || p == "crate::gpu::ops"));
    let modules: Vec<String> = [
        "crate",
        "crate::gpu",
        "crate::gpu::ops",
        "crate::gpu::pipeline",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        target("super::ops::shader", "crate::gpu::pipeline", &modules).as_deref(),
        Some("crate::gpu::ops")
    );
    assert_eq!(
        target("super::*", "crate::gpu::pipeline::tests", &modules).as_deref(),
        Some("crate::gpu::pipeline")
    );
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, lower_layers_never_import_upward),
        crate::case!(plain, the_rule_sees_both_path_forms),
        crate::case!(plain, peers_and_higher_layers_are_forbidden),
        crate::case!(plain, no_file_imports_another_in_a_circle),
        crate::case!(plain, the_cycle_check_sees_use_trees),
        crate::case!(plain, the_pipeline_layer_does_not_import_the_ops),
        crate::case!(plain, the_path_scan_sees_inline_paths_and_skips_comments),
    ]
}
