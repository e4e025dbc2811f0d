//! The LiteRT external delegate and the writer, checked inside real LiteRT.

#[path = "../common/mod.rs"]
mod common;

mod litert_delegate;
mod litert_oracle;

fn main() {
    common::harness::main(&[
        ("litert_delegate", litert_delegate::tests),
        ("litert_oracle", litert_oracle::tests),
    ]);
}
