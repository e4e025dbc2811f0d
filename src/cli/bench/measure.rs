//! Measuring one configuration: prepare, first invoke, warmup, timed invokes (with a
//! progress bar on a terminal), then a few profiled invokes.

use super::{bench_inputs, BenchArgs, Budget};
use crate::{Interpreter, Model, Options, PartitionTime, Profile, Tensor};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Profiled invokes after the timed ones (more with `--profile`).
const PROFILED_RUNS: usize = 5;
const PROFILED_RUNS_WITH_PROFILE: usize = 20;

/// What measuring one configuration gave.
pub struct Measured {
    /// The interpreter, after all its invokes (outputs of the last one).
    pub interp: Interpreter,
    /// Reading the model.
    pub load: Duration,
    /// `Interpreter::with_options` as a whole.
    pub prepare: Duration,
    /// The first invoke.
    pub first: Duration,
    /// Seconds of each timed invoke, sorted.
    pub times: Vec<f64>,
    /// Profiles of the profiled invokes.
    pub profiles: Vec<Profile>,
    /// The host times of each timed invoke's GPU partitions
    /// ([`Interpreter::last_host_times`]), in run order.
    pub host: Vec<Vec<PartitionTime>>,
}

impl Measured {
    /// The `p` quantile of the timed invokes, in milliseconds (nearest rank).
    pub fn pct_ms(&self, p: f64) -> f64 {
        let t = &self.times;
        if t.is_empty() {
            return 0.0;
        }
        t[((t.len() - 1) as f64 * p).round() as usize] * 1e3
    }
}

/// Prepare `model` with `options` and time it; `load` is how long reading it took.
pub fn measure(
    model: &Model,
    options: Options,
    args: &BenchArgs,
    load: Duration,
) -> crate::Result<Measured> {
    let start = Instant::now();
    let mut interp = Interpreter::with_options(model, options)?;
    let prepare = start.elapsed();
    let inputs = bench_inputs(&interp)?;
    let mut host = Vec::new();
    let (first, times) = time_invokes(&mut interp, &inputs, args, Some(&mut host))?;
    let k = if args.profile {
        PROFILED_RUNS_WITH_PROFILE
    } else {
        PROFILED_RUNS
    };
    let profiles = (0..k.min(times.len()).max(1))
        .map(|_| interp.invoke_profiled())
        .collect::<crate::Result<_>>()?;
    Ok(Measured {
        interp,
        load,
        prepare,
        first,
        times,
        profiles,
        host,
    })
}

/// Set `inputs`, invoke once (timed), warm up, then time invokes as `args` say.
/// Returns the first invoke's time and the sorted times of the timed ones.
pub fn time_invokes(
    interp: &mut Interpreter,
    inputs: &[Tensor],
    args: &BenchArgs,
    mut host: Option<&mut Vec<Vec<PartitionTime>>>,
) -> crate::Result<(Duration, Vec<f64>)> {
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone())?;
    }
    let start = Instant::now();
    interp.invoke()?;
    let first = start.elapsed();
    let warm = Instant::now();
    for _ in 0..args.warmup {
        interp.invoke()?;
    }
    let per_invoke = if args.warmup > 0 {
        warm.elapsed().as_secs_f64() / args.warmup as f64
    } else {
        first.as_secs_f64()
    };
    let budget = args.budget();
    let expected = match budget {
        Budget::Runs(n) => per_invoke * n as f64,
        Budget::Secs(s) => s,
    };
    let bar = progress_bar(budget, expected, args.json);
    let mut times = Vec::new();
    let timing = Instant::now();
    loop {
        let done = match budget {
            Budget::Runs(n) => times.len() >= n,
            Budget::Secs(s) => !times.is_empty() && timing.elapsed().as_secs_f64() >= s,
        };
        if done {
            break;
        }
        let t = Instant::now();
        interp.invoke()?;
        times.push(t.elapsed().as_secs_f64());
        if let Some(h) = host.as_deref_mut() {
            h.push(interp.last_host_times());
        }
        if let Some(bar) = &bar {
            match budget {
                Budget::Runs(_) => bar.set_position(times.len() as u64),
                Budget::Secs(_) => bar.set_position(timing.elapsed().as_millis() as u64),
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok((first, times))
}

/// A bar on stderr when it is a terminal, the output is text and the timed invokes
/// are expected to take over a second.
fn progress_bar(budget: Budget, expected_secs: f64, json: bool) -> Option<indicatif::ProgressBar> {
    if json || expected_secs <= 1.0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let (len, template) = match budget {
        Budget::Runs(n) => (n as u64, "{bar:40} {pos}/{len} invokes, {eta} left"),
        Budget::Secs(s) => ((s * 1e3) as u64, "{bar:40} {elapsed} of the time budget"),
    };
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}
