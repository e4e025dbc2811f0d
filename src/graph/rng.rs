//! The crate's one seeded generator: a small xorshift64* stream, so a seed gives
//! the same values on every machine. `validate`'s random inputs, the demo model's
//! weights, quantization's random calibration, the benchmarks and the tests all
//! draw from it. It is not for anything that needs unpredictability.

/// A deterministic xorshift64* generator.
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A stream for `seed` (any value, zero included).
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }

    /// Uniform in [0, n) (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// One of `items` (`None` when empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())])
    }

    /// `n` values uniform in [-scale, scale).
    pub fn signed(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(-scale, scale)).collect()
    }
}

/// `n` values uniform in [-1, 1) from a fresh stream for `seed`.
pub fn signed_values(n: usize, seed: u64) -> Vec<f32> {
    SeededRng::new(seed).signed(n, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_seeded_and_in_range() {
        let a = signed_values(1000, 7);
        assert_eq!(a, signed_values(1000, 7));
        assert_ne!(a, signed_values(1000, 8));
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.1, "{mean}");
        let mut r = SeededRng::new(0);
        assert!((0..100).all(|_| r.range(3, 5) >= 3 && r.range(3, 5) <= 5));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.pick::<u8>(&[]), None);
    }
}
