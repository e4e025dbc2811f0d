//! Every golden model of ../shared/goldens on the CPU interpreter, judged with the
//! fp32 tolerance of docs/precision.md (integer outputs within one step).

use crate::common;

fn cpu_matches_litert_goldens() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let cases = common::goldens(&shared);
    let mut failures = Vec::new();
    for case in &cases {
        match common::run_cpu(case) {
            Ok(worst) => println!("ok   {} (max |d| {:?})", case.name, worst),
            Err(e) => {
                println!("FAIL {}: {e}", case.name);
                failures.push(format!("{}: {e}", case.name));
            }
        }
    }
    println!(
        "{} of {} golden models pass",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(shared, cpu_matches_litert_goldens)]
}
