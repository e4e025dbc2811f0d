//! Every golden model through the GPU delegate (unsupported nodes on the CPU):
//! fp32 within docs/precision.md's fp32 tolerance, fp16 within the fp16 tolerance.
//!
//! Each model must also run where `tests/data/gpu_expected.json` says: the nodes on
//! the GPU, those left on the CPU, and the precision each partition compiled at
//! (see `tests/common/expected.rs`). A model that falls back to the CPU fails here
//! even when its outputs match. After an intended change of placement, regenerate
//! the table with `UPDATE_EXPECTED=1 cargo test --test conformance gpu::` and review
//! its diff.

use crate::common;

use common::{expected, Precision};
use std::collections::BTreeMap;
use tflite_wgpu::{Interpreter, Model};

fn run_all(fp16: bool) {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let update = expected::update_mode();
    let key = expected::precision_key(fp16);
    let table = expected::load();
    let cases = common::goldens(&shared);
    let mut failures = Vec::new();
    let mut rows = BTreeMap::new();
    for case in &cases {
        let options = common::gpu::gpu_options(fp16);
        let precision = if fp16 {
            Precision::Fp16
        } else {
            Precision::Fp32
        };
        let prepared = Model::from_file(&case.model)
            .map_err(|e| format!("load: {e}"))
            .and_then(|m| {
                Interpreter::with_options(&m, options).map_err(|e| format!("prepare: {e}"))
            });
        let mut interp = match prepared {
            Ok(i) => i,
            Err(e) => {
                println!("FAIL {}: {e}", case.name);
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let placement = match expected::placement(&interp) {
            Some(row) => {
                let checked = if update {
                    Ok(())
                } else {
                    expected::check(
                        &table,
                        &case.name,
                        key,
                        &row,
                        expected::f16_unavailable(&interp),
                    )
                };
                rows.insert(case.name.clone(), row);
                checked
            }
            None => Err("no delegate report: the interpreter does not use the GPU".into()),
        };
        let numbers = common::run_prepared(case, &mut interp, precision);
        match (numbers, placement) {
            (Ok(worst), Ok(())) => println!("ok   {} (max |d| {:?})", case.name, worst),
            (numbers, placement) => {
                let e: Vec<String> = [numbers.err(), placement.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                let e = e.join("\n");
                println!("FAIL {}: {e}", case.name);
                failures.push(format!("{}: {e}", case.name));
            }
        }
    }
    if update {
        expected::store(key, &rows);
    } else if common::golden_filter().is_none() {
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        for model in expected::stale(&table, key, &names) {
            failures.push(format!(
                "{model}: a row at {key} in {} but no golden (regenerate with UPDATE_EXPECTED=1)",
                expected::PATH
            ));
        }
    }
    println!(
        "{} of {} golden models pass on the GPU at {key}",
        cases.len() - failures.len().min(cases.len()),
        cases.len(),
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

fn gpu_fp32_matches_litert_goldens() {
    run_all(false);
}

fn gpu_fp16_matches_litert_goldens() {
    run_all(true);
}

/// The table's node ranges and the diff shown on a mismatch.
fn placement_ranges_and_diff() {
    assert_eq!(expected::ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
    assert_eq!(expected::ranges(&[]), "");
    assert_eq!(expected::ranges(&[5, 4]), "5,4");
    assert_eq!(expected::diff("a\nb\nc", "a\nx\nc"), "  a\n- b\n+ x\n  c\n");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu_shared, gpu_fp32_matches_litert_goldens),
        crate::case!(gpu_shared, gpu_fp16_matches_litert_goldens),
        crate::case!(plain, placement_ranges_and_diff),
    ]
}
