//! Error metrics between a reference tensor (the CPU) and a test tensor (the GPU),
//! accumulated over any number of pairs.

use crate::graph::Tensor;
use crate::graph::TensorInfo;
use serde::Serialize;

/// How far a tensor computed on the GPU is from the CPU's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Elements compared where both sides are finite.
    pub num_elements: u64,
    /// Largest absolute difference.
    pub max_abs_error: f64,
    /// Mean absolute difference.
    pub mean_abs_error: f64,
    /// Mean signed difference (test minus reference): a bias.
    pub mean_error: f64,
    /// Standard deviation of the signed difference.
    pub stddev: f64,
    /// Mean squared difference.
    pub mean_squared_error: f64,
    /// Square root of the mean squared difference.
    pub rmse: f64,
    /// `max_abs_error` relative to the reference's range (max minus min).
    pub max_rel_error: f64,
    /// Cosine similarity of the flattened tensors (1 when both are zero).
    pub cosine: f64,
    /// Signal-to-noise ratio in dB: reference energy over error energy. `None` when
    /// the error is exactly zero (infinite SNR); -999 when the reference is all
    /// zero and the test is not.
    pub snr_db: Option<f64>,
    /// Share of rows whose argmax agrees, for classifier-shaped tensors (`[N]` or
    /// [batch, N] with N >= 2).
    pub argmax_agreement: Option<f64>,
    /// Non-finite values (NaN, inf) on the reference side.
    pub nonfinite_reference: u64,
    /// Non-finite values on the test side.
    pub nonfinite_test: u64,
}

/// Running sums behind [`Metrics`].
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    n: u64,
    sum_abs: f64,
    sum_err: f64,
    sum_err2: f64,
    max_abs: f64,
    sum_ref2: f64,
    sum_test2: f64,
    sum_dot: f64,
    ref_min: f64,
    ref_max: f64,
    nonfinite_ref: u64,
    nonfinite_test: u64,
    argmax_agree: u64,
    argmax_rows: u64,
    classifier: bool,
}

/// The values of a tensor as real numbers: quantized integers are dequantized with
/// the tensor's (per-tensor) scale and zero point. `None` for complex tensors.
pub fn real_values(t: &Tensor, info: &TensorInfo) -> Option<Vec<f64>> {
    if matches!(t.data, crate::graph::Data::C64(_)) {
        return None;
    }
    let raw = t.data.to_f64();
    match &info.quantization {
        Some(q) if !info.dtype.is_float() && q.scale.len() == 1 => {
            let (s, z) = (
                q.scale[0] as f64,
                q.zero_point.first().copied().unwrap_or(0) as f64,
            );
            Some(raw.into_iter().map(|v| (v - z) * s).collect())
        }
        _ => Some(raw),
    }
}

/// Whether a shape looks like classifier scores: [N] or [batch, N] with N >= 2.
fn classifier_shaped(shape: &[usize]) -> bool {
    match shape {
        [n] => *n >= 2,
        [_, n] => *n >= 2,
        _ => false,
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

impl ErrorStats {
    /// Add one pair of equally long value lists of a tensor of `shape`.
    pub fn add(&mut self, reference: &[f64], test: &[f64], shape: &[usize]) {
        if self.n == 0 && self.nonfinite_ref == 0 && self.nonfinite_test == 0 {
            self.ref_min = f64::INFINITY;
            self.ref_max = f64::NEG_INFINITY;
        }
        for (&r, &t) in reference.iter().zip(test) {
            match (r.is_finite(), t.is_finite()) {
                (true, true) => {
                    let e = t - r;
                    self.n += 1;
                    self.sum_abs += e.abs();
                    self.sum_err += e;
                    self.sum_err2 += e * e;
                    self.max_abs = self.max_abs.max(e.abs());
                    self.sum_ref2 += r * r;
                    self.sum_test2 += t * t;
                    self.sum_dot += r * t;
                    self.ref_min = self.ref_min.min(r);
                    self.ref_max = self.ref_max.max(r);
                }
                (rf, tf) => {
                    self.nonfinite_ref += u64::from(!rf);
                    self.nonfinite_test += u64::from(!tf);
                }
            }
        }
        if classifier_shaped(shape) && reference.len() == test.len() {
            self.classifier = true;
            let width = shape[shape.len() - 1];
            for (r, t) in reference.chunks(width).zip(test.chunks(width)) {
                self.argmax_rows += 1;
                self.argmax_agree += u64::from(argmax(r) == argmax(t));
            }
        }
    }

    /// The metrics of everything added so far.
    pub fn finish(&self) -> Metrics {
        let n = self.n.max(1) as f64;
        let mean_error = self.sum_err / n;
        let mse = self.sum_err2 / n;
        let range = self.ref_max - self.ref_min;
        let scale = if range.is_finite() && range > 0.0 {
            range
        } else {
            self.ref_max.abs().max(self.ref_min.abs()).max(1.0)
        };
        let scale = if scale.is_finite() { scale } else { 1.0 };
        let cosine = match (self.sum_ref2 > 0.0, self.sum_test2 > 0.0) {
            _ if self.sum_err2 == 0.0 => 1.0,
            (false, false) => 1.0,
            (true, true) => self.sum_dot / (self.sum_ref2.sqrt() * self.sum_test2.sqrt()),
            _ => 0.0,
        };
        let snr_db = (self.sum_err2 > 0.0).then(|| {
            if self.sum_ref2 > 0.0 {
                10.0 * (self.sum_ref2 / self.sum_err2).log10()
            } else {
                f64::NEG_INFINITY
            }
        });
        Metrics {
            num_elements: self.n,
            max_abs_error: self.max_abs,
            mean_abs_error: self.sum_abs / n,
            mean_error,
            stddev: (mse - mean_error * mean_error).max(0.0).sqrt(),
            mean_squared_error: mse,
            rmse: mse.sqrt(),
            max_rel_error: self.max_abs / scale,
            cosine: cosine.clamp(-1.0, 1.0),
            snr_db: snr_db.map(|s| if s.is_finite() { s } else { -999.0 }),
            argmax_agreement: (self.classifier && self.argmax_rows > 0)
                .then(|| self.argmax_agree as f64 / self.argmax_rows as f64),
            nonfinite_reference: self.nonfinite_ref,
            nonfinite_test: self.nonfinite_test,
        }
    }
}

/// Pass/fail limits on an output's metrics.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// Largest allowed `max_rel_error`.
    pub max_rel: f64,
    /// Smallest allowed `cosine`.
    pub min_cosine: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_rel: 0.02,
            min_cosine: 0.999,
        }
    }
}

impl Thresholds {
    /// Why `m` fails these limits (empty when it passes). Non-finite values the
    /// reference does not have always fail.
    pub fn failures(&self, m: &Metrics) -> Vec<String> {
        let mut out = Vec::new();
        if m.max_rel_error > self.max_rel {
            out.push(format!(
                "max_rel_error {:.3e} > {:.3e}",
                m.max_rel_error, self.max_rel
            ));
        }
        if m.cosine < self.min_cosine {
            out.push(format!("cosine {:.6} < {:.6}", m.cosine, self.min_cosine));
        }
        if m.nonfinite_test > m.nonfinite_reference {
            out.push(format!(
                "{} non-finite values on the GPU, {} on the CPU",
                m.nonfinite_test, m.nonfinite_reference
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_error() {
        let mut s = ErrorStats::default();
        s.add(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 2.0, 3.5], &[4]);
        let m = s.finish();
        assert_eq!(m.num_elements, 4);
        assert_eq!(m.max_abs_error, 0.5);
        assert_eq!(m.mean_abs_error, 0.125);
        assert_eq!(m.mean_error, 0.125);
        assert!((m.max_rel_error - 0.5 / 3.0).abs() < 1e-12);
        assert!((m.rmse - (0.25f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!((m.stddev - (0.0625f64 - 0.125 * 0.125).sqrt()).abs() < 1e-12);
        assert_eq!(m.argmax_agreement, Some(1.0));
        let snr = 10.0 * (14.0f64 / 0.25).log10();
        assert!((m.snr_db.unwrap() - snr).abs() < 1e-9);
        assert!(m.cosine < 1.0 && m.cosine > 0.99);
    }

    #[test]
    fn exact_match_and_non_finite_values() {
        let mut s = ErrorStats::default();
        s.add(&[1.0, 2.0], &[1.0, 2.0], &[1, 2]);
        assert_eq!(s.finish().snr_db, None);
        assert_eq!(s.finish().cosine, 1.0);
        s.add(&[1.0, 2.0], &[f64::INFINITY, 1.0], &[1, 2]);
        let m = s.finish();
        assert_eq!(m.nonfinite_test, 1);
        assert_eq!(m.argmax_agreement, Some(0.5));
        let t = Thresholds::default();
        assert!(t.failures(&m).iter().any(|f| f.contains("non-finite")));
    }
}
