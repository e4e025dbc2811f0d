//! Shaders and the pipeline cache.
//!
//! Kernels are plain `.wgsl` files under `shaders/`. At pipeline creation a small
//! prelude picks the storage precision (`alias scalar = f32;` or, with SHADER_F16,
//! `enable f16; alias scalar = f16;`). Shapes and strides travel in uniforms and
//! variants in override constants, so identical layers share one pipeline: the
//! cache key is (shader, precision, constants).

use super::device::GpuDevice;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An integer kernel: shaders/qmath.wgsl (LiteRT's fixed-point arithmetic in
/// 32-bit pieces) followed by the kernel file.
macro_rules! int_kernel {
    ($file:literal) => {
        concat!(
            include_str!("../../shaders/qmath.wgsl"),
            include_str!(concat!("../../shaders/", $file))
        )
    };
}

/// An element-wise kernel with numpy broadcasting: shaders/broadcast.wgsl (the
/// operand offsets) followed by `prefix` (a typed define, or nothing) and the file.
macro_rules! broadcast_kernel {
    ($prefix:literal, $file:literal) => {
        concat!(
            include_str!("../../shaders/broadcast.wgsl"),
            $prefix,
            include_str!(concat!("../../shaders/", $file))
        )
    };
}

/// Every kernel: name and WGSL source. A file that serves several element types
/// is listed once per type, with a typed define (`alias elem = ...;`) in front.
pub const SHADERS: &[(&str, &str)] = &[
    ("unary", include_str!("../../shaders/unary.wgsl")),
    ("binary", broadcast_kernel!("", "binary.wgsl")),
    (
        "conv2d",
        concat!(
            "@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;\n",
            "fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(w[i]); }\n",
            "fn wscale(c: u32) -> f32 { return 1.0; }\n",
            include_str!("../../shaders/conv2d.wgsl")
        ),
    ),
    (
        "conv2d_w8",
        concat!(
            "@group(0) @binding(2) var<storage, read> w: array<u32>;\n",
            "fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(unpack4xI8(w[i])); }\n",
            "fn wscale(c: u32) -> f32 { return bias[p.oc + c]; }\n",
            include_str!("../../shaders/conv2d.wgsl")
        ),
    ),
    (
        "depthwise_conv2d",
        concat!(
            "@group(0) @binding(2) var<storage, read> w: array<scalar>;\n",
            "fn weight1(e: u32) -> f32 { return f32(w[e]); }\n",
            "fn wscale(c: u32) -> f32 { return 1.0; }\n",
            include_str!("../../shaders/depthwise_conv2d.wgsl")
        ),
    ),
    (
        "depthwise_conv2d_w8",
        concat!(
            "@group(0) @binding(2) var<storage, read> w: array<u32>;\n",
            "fn weight1(e: u32) -> f32 {\n",
            "    return f32(extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u));\n",
            "}\n",
            "fn wscale(c: u32) -> f32 { return bias[p.oc + c]; }\n",
            include_str!("../../shaders/depthwise_conv2d.wgsl")
        ),
    ),
    (
        "transpose_conv",
        include_str!("../../shaders/transpose_conv.wgsl"),
    ),
    ("matmul", include_str!("../../shaders/matmul.wgsl")),
    ("pool", include_str!("../../shaders/pool.wgsl")),
    ("reduce", include_str!("../../shaders/reduce.wgsl")),
    ("cumsum", include_str!("../../shaders/cumsum.wgsl")),
    ("softmax", include_str!("../../shaders/softmax.wgsl")),
    ("resize", include_str!("../../shaders/resize.wgsl")),
    (
        "copy",
        concat!(
            "alias elem = scalar;\nfn to_elem(v: f32) -> elem { return to_scalar(v); }\n",
            include_str!("../../shaders/copy.wgsl")
        ),
    ),
    (
        "copy_int",
        concat!(
            "alias elem = i32;\nfn to_elem(v: f32) -> elem { return i32(v); }\n",
            include_str!("../../shaders/copy.wgsl")
        ),
    ),
    ("gather", include_str!("../../shaders/gather.wgsl")),
    (
        "compare",
        broadcast_kernel!("alias elem = scalar;\n", "compare.wgsl"),
    ),
    (
        "compare_int",
        broadcast_kernel!("alias elem = i32;\n", "compare.wgsl"),
    ),
    ("logical", broadcast_kernel!("", "logical.wgsl")),
    (
        "select",
        broadcast_kernel!("alias elem = scalar;\n", "select.wgsl"),
    ),
    (
        "select_word",
        broadcast_kernel!("alias elem = u32;\n", "select.wgsl"),
    ),
    ("cast_f2w", include_str!("../../shaders/cast_f2w.wgsl")),
    ("cast_w2f", include_str!("../../shaders/cast_w2f.wgsl")),
    ("cast_w2w", include_str!("../../shaders/cast_w2w.wgsl")),
    ("argminmax", include_str!("../../shaders/argminmax.wgsl")),
    ("quantize", int_kernel!("quantize.wgsl")),
    ("dequantize", int_kernel!("dequantize.wgsl")),
    ("requantize", int_kernel!("requantize.wgsl")),
    ("qconv2d", int_kernel!("qconv2d.wgsl")),
    ("qdepthwise_conv2d", int_kernel!("qdepthwise_conv2d.wgsl")),
    (
        "qbinary",
        concat!(
            include_str!("../../shaders/broadcast.wgsl"),
            int_kernel!("qbinary.wgsl")
        ),
    ),
    ("qpool", int_kernel!("qpool.wgsl")),
    ("qmean", int_kernel!("qmean.wgsl")),
    ("qresize", int_kernel!("qresize.wgsl")),
    ("qsoftmax", int_kernel!("qsoftmax.wgsl")),
    ("qmatmul", int_kernel!("qmatmul.wgsl")),
    ("qlut", include_str!("../../shaders/qlut.wgsl")),
];

/// Storage precision of a compiled kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 storage and math.
    F32,
    /// f16 storage and math, f32 accumulation where sums grow.
    F16,
}

impl Precision {
    /// The prelude prepended to every shader.
    ///
    /// `to_scalar` stores an f32 result: in f16 it saturates finite values at
    /// +-65504 so that nothing the CPU computes as finite becomes infinite on the
    /// GPU (true infinities and NaN pass through).
    pub fn prelude(self) -> &'static str {
        match self {
            Precision::F32 => "alias scalar = f32;\nfn to_scalar(v: f32) -> scalar { return v; }\n",
            Precision::F16 => {
                "enable f16;\nalias scalar = f16;\n\
                 fn to_scalar(v: f32) -> scalar {\n\
                 \x20   if (abs(v) > 3.0e38 || v != v) { return scalar(v); }\n\
                 \x20   return scalar(clamp(v, -65504.0, 65504.0));\n\
                 }\n"
            }
        }
    }

    /// Bytes per stored element.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

/// The WGSL source of a kernel family, if it exists.
pub fn shader_source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    shader: &'static str,
    precision: Precision,
    constants: Vec<(String, u64)>,
}

/// Compiled pipelines shared by every program on one device.
#[derive(Default)]
pub struct PipelineCache {
    modules: Mutex<HashMap<(&'static str, Precision), Arc<wgpu::ShaderModule>>>,
    pipelines: Mutex<HashMap<Key, Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    /// Number of distinct pipelines built so far.
    pub fn len(&self) -> usize {
        self.pipelines.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// True when no pipeline has been built.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pipeline for `shader` at `precision` with override `constants`, built on
    /// first use. Shader or pipeline errors are returned, not raised.
    pub fn get(
        &self,
        gpu: &GpuDevice,
        shader: &'static str,
        precision: Precision,
        constants: &[(&str, f64)],
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let key = Key {
            shader,
            precision,
            constants: constants
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_bits()))
                .collect(),
        };
        if let Some(p) = self
            .pipelines
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(p);
        }
        let module = self.module(gpu, shader, precision)?;
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(shader),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!(
                "pipeline {shader} failed to build: {e}"
            )));
        }
        let pipeline = Arc::new(pipeline);
        if let Ok(mut m) = self.pipelines.lock() {
            m.insert(key, pipeline.clone());
        }
        Ok(pipeline)
    }

    fn module(
        &self,
        gpu: &GpuDevice,
        shader: &'static str,
        precision: Precision,
    ) -> Result<Arc<wgpu::ShaderModule>> {
        if let Some(m) = self
            .modules
            .lock()
            .ok()
            .and_then(|m| m.get(&(shader, precision)).cloned())
        {
            return Ok(m);
        }
        let body = shader_source(shader)
            .ok_or_else(|| Error::Device(format!("no shader named {shader}")))?;
        let source = format!("{}{}", precision.prelude(), body);
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = gpu
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!(
                "shader {shader} failed to compile: {e}"
            )));
        }
        let module = Arc::new(module);
        if let Ok(mut m) = self.modules.lock() {
            m.insert((shader, precision), module.clone());
        }
        Ok(module)
    }
}
