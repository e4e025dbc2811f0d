//! All WGSL lives in `shaders/`: no Rust source under `src/gpu` holds WGSL in a
//! string literal. A kernel is assembled from `.wgsl` files and typed defines
//! (`gpu::shader::Define`, rendered from Rust values), so a reader finds every
//! line of a kernel under `shaders/`.
//!
//! The scan lexes each file's string literals (plain, byte and raw, skipping
//! comments and char literals) and flags one that holds a WGSL construct: an
//! attribute (`@compute`, `@group(`, `@binding(`, `@workgroup_size`,
//! `@builtin(`), a templated type (`var<`, `array<`, `vec2<`..`vec4<`,
//! `ptr<`, `atomic<`), `enable f16`, or a declaration of a named item (`fn
//! name(`, `alias name =`, `const NAME:`, `override NAME`). A format string
//! whose names are placeholders (`alias {name} = ...`, as the typed defines
//! render) declares nothing by itself and is not flagged.

use std::fs;
use std::path::{Path, PathBuf};

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

/// The string literals of a Rust source text, with the line each starts on.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch == 'r'
            && (i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))))
            && matches!(c.get(i + 1), Some('"' | '#'))
        {
            // A raw string: r"..." or r#"..."# (any number of hashes).
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                i = j;
                continue;
            }
            let start_line = line;
            let mut s = String::new();
            j += 1;
            while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    break;
                }
                if c[j] == '\n' {
                    line += 1;
                }
                s.push(c[j]);
                j += 1;
            }
            out.push((start_line, s));
            i = j + 1 + hashes;
        } else if ch == '"' {
            let start_line = line;
            let mut s = String::new();
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    // Keep escapes as written (`\n` is two characters here).
                    s.push(c[i]);
                    i += 1;
                }
                if let Some(&e) = c.get(i) {
                    if e == '\n' {
                        line += 1;
                    }
                    s.push(e);
                }
                i += 1;
            }
            out.push((start_line, s));
            i += 1;
        } else if ident(ch) {
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The WGSL construct a string holds, if any.
fn wgsl_in(s: &str) -> Option<String> {
    const MARKERS: &[&str] = &[
        "@compute",
        "@group(",
        "@binding(",
        "@workgroup_size",
        "@builtin(",
        "var<",
        "array<",
        "vec2<",
        "vec3<",
        "vec4<",
        "ptr<",
        "atomic<",
        "enable f16",
    ];
    if let Some(m) = MARKERS.iter().find(|m| s.contains(**m)) {
        return Some(m.to_string());
    }
    // A keyword followed by a name and what declares it.
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (keyword, after) in [
        ("fn ", "("),
        ("alias ", " ="),
        ("const ", ":"),
        ("override ", ""),
    ] {
        let mut rest = s;
        while let Some(k) = rest.find(keyword) {
            let word_start = k == 0 || !rest[..k].ends_with(ident);
            let tail = &rest[k + keyword.len()..];
            let name_len = tail.find(|c: char| !ident(c)).unwrap_or(tail.len());
            if word_start && name_len > 0 && tail[name_len..].starts_with(after) {
                return Some(format!("{keyword}{}{after}", &tail[..name_len]));
            }
            rest = tail;
        }
    }
    None
}

fn no_rust_source_under_src_gpu_holds_wgsl() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/gpu"), &mut files);
    assert!(files.len() > 20, "src/gpu has {} Rust files", files.len());
    let mut found = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read source");
        for (line, s) in string_literals(&text) {
            if let Some(what) = wgsl_in(&s) {
                let file = f.strip_prefix(root).unwrap_or(f).display();
                found.push(format!("{file}:{line}: `{what}`"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "WGSL in Rust string literals (move it into shaders/):\n{}",
        found.join("\n")
    );
}

fn the_scan_finds_wgsl_in_every_form_of_literal() {
    let text = r####"
        // "@group(0) in a comment"
        /* "var<storage> in a block comment" */
        let q = '"';
        let a = "alias elem = i32;\n";
        let b = r#"@group(0) @binding(1) var<storage, read> x: array<f32>;"#;
        let c = b"fn load_x(e: u32) -> f32 { return 0.0; }";
        let d = format!("alias {name} = {};\n", ty);
        let e = "const WORKGROUP_SIZE: u32 = 64u;";
        let f = "shape {:?} is not an array of 4 dims";
        fn g<'a>(x: &'a str) -> &'a str { x }
    "####;
    let literals = string_literals(text);
    let flagged: Vec<(usize, String)> = literals
        .iter()
        .filter_map(|(line, s)| wgsl_in(s).map(|w| (*line, w)))
        .collect();
    assert_eq!(
        flagged,
        [
            (5, "alias elem =".to_string()),
            (6, "@group(".to_string()),
            (7, "fn load_x(".to_string()),
            (9, "const WORKGROUP_SIZE:".to_string()),
        ]
    );
    assert!(literals.iter().any(|(_, s)| s.contains("{name}")));
    assert!(!literals.iter().any(|(_, s)| s.contains("comment")));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, no_rust_source_under_src_gpu_holds_wgsl),
        crate::case!(plain, the_scan_finds_wgsl_in_every_form_of_literal),
    ]
}
