//! Generates the GPU op registry: one `mod` per file under `src/gpu/ops/` and the
//! slice of op families, from the files that declare `pub(crate) static OP`.
//! Adding a GPU op is adding a file there; nothing else lists the families.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: a build script binary may be reused from another checkout.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("src/gpu/ops");
    println!("cargo:rerun-if-changed=src/gpu/ops");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/gpu/ops is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "mod"))
        .collect();
    files.sort();
    let mut out = String::new();
    let mut families = Vec::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("op file names are UTF-8");
        let text = std::fs::read_to_string(path).expect("op file is readable");
        writeln!(
            out,
            "#[path = {:?}]\npub(crate) mod {name};",
            path.display().to_string()
        )
        .expect("write to a String");
        if text.lines().any(|l| l.starts_with("pub(crate) static OP:")) {
            families.push(name.to_string());
        }
    }
    out.push_str("/// Every GPU op family, one per file that declares `OP`, in file name order.\n");
    out.push_str("pub(crate) static FAMILIES: &[&dyn GpuOp] = &[\n");
    for f in &families {
        writeln!(out, "    &{f}::OP,").expect("write to a String");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("gpu_ops.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
