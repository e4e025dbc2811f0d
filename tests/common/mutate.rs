//! Seeded mutations of model bytes: bit flips, overwrites, truncations and
//! duplicated chunks, shared by the mutation tests.

/// The crate's seeded generator.
pub use tflite_wgpu::graph::rng::SeededRng as Rng;

/// One mutant of `bytes`.
pub fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            let i = rng.below(b.len());
            let v = [0u8, 0xff, 0x7f, 0x80, 0x01][rng.below(5)];
            let end = (i + 1 + rng.below(8)).min(b.len());
            b[i..end].fill(v);
        }
        2 => b.truncate(rng.below(b.len())),
        _ => {
            let i = rng.below(b.len());
            let len = (1 + rng.below(64)).min(b.len() - i);
            let chunk = b[i..i + len].to_vec();
            let at = rng.below(b.len());
            b.splice(at..at, chunk);
        }
    }
    b
}
