//! The LiteRT external delegate and the writer, checked inside real LiteRT.

use tflite_wgpu_testkit as common;
use tflite_wgpu_testkit::case;

mod litert_delegate;
mod litert_oracle;
mod models;
mod writer_roundtrip;

fn main() {
    common::harness::main_checked(&[
        ("litert_delegate", litert_delegate::tests),
        ("litert_oracle", litert_oracle::tests),
        ("models", models::tests),
        ("writer_roundtrip", writer_roundtrip::tests),
    ]);
}
