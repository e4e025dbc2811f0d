//! Deterministic mutation test: seeded bit flips, byte overwrites, truncations and
//! duplicated chunks of the smaller shared models. Every mutant must give a typed
//! error or a valid run — never a panic — within a bounded time.

use crate::common;

use common::mutate::{mutate, Rng};

use std::time::{Duration, Instant};
use tflite_wgpu::model::LoadOptions;
use tflite_wgpu::RunLimits;
use tflite_wgpu::{Interpreter, Model, Options, Tensor};

/// How far a mutant got.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Outcome {
    /// The reader refused it.
    NotLoaded,
    /// Loaded, but preparing failed.
    NotPrepared,
    /// Prepared, but the invoke failed with a typed error.
    Failed,
    /// Ran to the end.
    Ran,
}

/// Load, prepare and run one mutant on the CPU under tight limits.
fn exercise(bytes: &[u8]) -> Outcome {
    let load = LoadOptions {
        max_tensor_bytes: 64 << 20,
        max_total_bytes: 256 << 20,
        ..Default::default()
    };
    let Ok(model) = Model::from_bytes_with(bytes, &load) else {
        return Outcome::NotLoaded;
    };
    let options = Options {
        limits: RunLimits {
            max_while_iterations: 1000,
            max_tensor_bytes: 64 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let Ok(mut interp) = Interpreter::with_options(&model, options) else {
        return Outcome::NotPrepared;
    };
    for i in 0..interp.num_inputs() {
        let Ok(info) = interp.input_info(i) else {
            return Outcome::Failed;
        };
        let (dtype, shape) = (info.dtype, info.shape.clone());
        if let Ok(t) = Tensor::zeros(dtype, shape) {
            let _ = interp.set_input(i, t);
        }
    }
    match interp.invoke() {
        Ok(()) => Outcome::Ran,
        Err(_) => Outcome::Failed,
    }
}

fn mutants_of_shared_models_never_panic() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let mut models: Vec<_> = std::fs::read_dir(shared.join("models/gen"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.metadata().map(|m| m.len() < 64 << 10).unwrap_or(false))
        .collect();
    models.sort();
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let per_model = 4000 / models.len().max(1);
    let mut outcomes = std::collections::BTreeMap::new();
    let mut slowest = Duration::ZERO;
    let mut count = 0;
    for path in &models {
        let bytes = std::fs::read(path).unwrap();
        for _ in 0..per_model {
            let m = mutate(&bytes, &mut rng);
            let t = Instant::now();
            *outcomes.entry(exercise(&m)).or_insert(0usize) += 1;
            slowest = slowest.max(t.elapsed());
            count += 1;
        }
    }
    println!("{count} mutants ({outcomes:?}), slowest {slowest:?}");
    // The mutants must reach every stage, or the test checks little.
    for stage in [Outcome::NotLoaded, Outcome::Failed, Outcome::Ran] {
        assert!(
            outcomes.get(&stage).copied().unwrap_or(0) > 0,
            "no mutant {stage:?}"
        );
    }
    assert!(
        slowest < Duration::from_secs(20),
        "a mutant took {slowest:?}"
    );
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(shared, mutants_of_shared_models_never_panic)]
}
