//! The `.npy` reader on arbitrary bytes; what parses must encode and parse back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tflite_wgpu::npy;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = npy::parse(data, "fuzz.npy") {
        if let Ok(bytes) = npy::encode(&t) {
            let back = npy::parse(&bytes, "fuzz.npy").expect("encoded npy must parse");
            assert_eq!(back.shape, t.shape);
            assert_eq!(back.dtype(), t.dtype());
        }
    }
});
