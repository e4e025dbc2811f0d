//! Calibration: representative inputs, and the activation ranges the CPU reference
//! kernels produce on them.

use super::invalid;
use super::trace::Tracer;
use crate::error::{Error, Result};
use crate::graph::{Graph, Subgraph, Tensor};
use std::path::{Path, PathBuf};

/// The seed of random calibration inputs, so runs repeat.
const SEED: u64 = 0x005e_ed0f_ca1b;

/// Per subgraph and tensor, the calibrated (min, max) of its float values (None
/// for tensors that are not float or were never computed).
#[derive(Debug, Clone, Default)]
pub struct Ranges {
    /// (min, max) by subgraph index, then tensor index.
    pub subgraphs: Vec<Vec<Option<(f32, f32)>>>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Sorted directory entries of `dir` that satisfy `keep`.
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    out.sort();
    Ok(out)
}

/// Check that `t` (read from `path`) fits input `i` of `sg`.
fn check_sample(sg: &Subgraph, i: usize, t: &Tensor, path: &Path) -> Result<()> {
    let info = &sg.tensors[sg.inputs[i]];
    let dims_ok = t.shape.len() == info.shape.len()
        && t.shape.iter().enumerate().all(|(d, &n)| {
            n == info.shape[d]
                || info
                    .shape_signature
                    .as_ref()
                    .is_some_and(|s| s.get(d) == Some(&-1))
        });
    if t.dtype() != info.dtype || !dims_ok {
        return Err(invalid(format!(
            "calibration sample {}: {} {:?} does not match model input {i} ({}): {} {:?}",
            path.display(),
            t.dtype(),
            t.shape,
            info.name,
            info.dtype,
            info.shape
        )));
    }
    Ok(())
}

/// Read calibration samples from `dir`: for a one-input model each `*.npy` file is
/// one sample; for several inputs each sub-directory is one sample holding
/// `input_<i>.npy`. Every sample is checked against the inputs' shapes and types.
pub fn load_calibration(sg: &Subgraph, dir: &Path) -> Result<Vec<Vec<Tensor>>> {
    let is_npy = |p: &Path| p.is_file() && p.extension().is_some_and(|e| e == "npy");
    let mut samples = Vec::new();
    if sg.inputs.len() == 1 {
        for path in entries(dir, is_npy)? {
            let t = crate::npy::read(&path)?;
            check_sample(sg, 0, &t, &path)?;
            samples.push(vec![t]);
        }
    } else {
        for sub in entries(dir, |p| p.is_dir())? {
            let mut sample = Vec::new();
            for i in 0..sg.inputs.len() {
                let path = sub.join(format!("input_{i}.npy"));
                let t = crate::npy::read(&path)?;
                check_sample(sg, i, &t, &path)?;
                sample.push(t);
            }
            samples.push(sample);
        }
    }
    if samples.is_empty() {
        return Err(invalid(format!(
            "no calibration samples in {} (one .npy per sample, or one directory of input_<i>.npy per sample)",
            dir.display()
        )));
    }
    Ok(samples)
}

/// `n` seeded random samples in each input's natural range.
pub fn random_calibration(sg: &Subgraph, n: usize) -> Result<Vec<Vec<Tensor>>> {
    if n == 0 {
        return Err(invalid("--calibration-random needs at least one sample"));
    }
    crate::validate::random_inputs(sg, n, SEED)
}

/// The low and high ends of `v` keeping `percentile` percent of it (min and max at
/// 100).
pub(super) fn extremes(v: &[f32], percentile: f64) -> (f32, f32) {
    let finite = v.iter().copied().filter(|x| x.is_finite());
    if percentile >= 100.0 {
        return finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    }
    let mut s: Vec<f32> = finite.collect();
    if s.is_empty() {
        return (f32::INFINITY, f32::NEG_INFINITY);
    }
    s.sort_by(f32::total_cmp);
    let tail = ((1.0 - percentile / 100.0) * (s.len() - 1) as f64).round() as usize;
    (
        s[tail.min(s.len() - 1)],
        s[s.len() - 1 - tail.min(s.len() - 1)],
    )
}

/// Calibrated ranges of every float tensor of every subgraph of `graph` over
/// `samples` (inputs of the main subgraph): the tensors inside loop bodies and
/// branches are observed at every iteration the reference kernels run.
pub(crate) fn ranges(graph: &Graph, samples: &[Vec<Tensor>], percentile: f64) -> Result<Ranges> {
    let tracer = Tracer::new(graph, Some(percentile))?;
    for sample in samples {
        tracer.run_main(sample)?;
    }
    Ok(Ranges {
        subgraphs: tracer.into_ranges(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_trims_the_tails() {
        let v: Vec<f32> = (0..101).map(|i| i as f32).collect();
        assert_eq!(extremes(&v, 100.0), (0.0, 100.0));
        assert_eq!(extremes(&v, 99.0), (1.0, 99.0));
    }
}
