//! Kernel choices that tests and debugging override: runtime checks in every
//! shader module, split-K and tiled convolutions on CPU adapters, and
//! workgroup-memory reductions on devices with subgroups. A [`Tuning`] travels
//! with the partition options of one interpreter; nothing here is process-wide
//! state.

use std::sync::OnceLock;

/// Overrides of the kernel choices the lowering makes from the adapter. The
/// [`Default`] reads `TFLITE_WGPU_SHADER_CHECKS=1`, `TFLITE_WGPU_SPLIT_K=1`,
/// `TFLITE_WGPU_TILED=1` and `TFLITE_WGPU_SUBGROUPS=0` from the environment
/// (once per process); [`Tuning::UNTUNED`] ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuning {
    /// Build every shader module with naga's runtime checks, the modules of
    /// trusted dispatches (whose lowering proved every index in bounds)
    /// included (`TFLITE_WGPU_SHADER_CHECKS=1`).
    pub shader_checks: bool,
    /// Let matmuls of a few rows with a long K split K on CPU adapters too,
    /// which otherwise run one slice per column quad; GPUs always may
    /// (`TFLITE_WGPU_SPLIT_K=1`).
    pub split_k: bool,
    /// Run convolutions on the tiled implicit-GEMM kernel on CPU adapters too,
    /// which otherwise get the direct kernel; GPUs always do
    /// (`TFLITE_WGPU_TILED=1`).
    pub tiled_convolutions: bool,
    /// Reduce through workgroup memory even on devices with SUBGROUP
    /// (`TFLITE_WGPU_SUBGROUPS=0`).
    pub workgroup_reductions: bool,
}

impl Tuning {
    /// No override: every choice is the adapter's.
    pub const UNTUNED: Tuning = Tuning {
        shader_checks: false,
        split_k: false,
        tiled_convolutions: false,
        workgroup_reductions: false,
    };

    /// The overrides the environment asks for.
    fn from_env() -> Tuning {
        Tuning {
            shader_checks: env_switch("TFLITE_WGPU_SHADER_CHECKS") == Some(true),
            split_k: env_switch("TFLITE_WGPU_SPLIT_K") == Some(true),
            tiled_convolutions: env_switch("TFLITE_WGPU_TILED") == Some(true),
            workgroup_reductions: env_switch("TFLITE_WGPU_SUBGROUPS") == Some(false),
        }
    }
}

impl Default for Tuning {
    /// The overrides the environment asks for, read once per process.
    fn default() -> Tuning {
        static ENV: OnceLock<Tuning> = OnceLock::new();
        *ENV.get_or_init(Tuning::from_env)
    }
}

/// The switch `name` from the environment: `Some(false)` for "0" or "false",
/// `Some(true)` for any other non-empty value, `None` when unset or empty.
fn env_switch(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?;
    match v.trim() {
        "" => None,
        "0" | "false" | "FALSE" => Some(false),
        _ => Some(true),
    }
}
