//! The LiteRT external delegate and the writer, checked inside real LiteRT.

#[path = "../common/mod.rs"]
mod common;

mod litert_delegate;
mod litert_oracle;
