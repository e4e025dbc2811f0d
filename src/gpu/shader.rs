//! Kernels as typed handles (a leaf: it imports nothing of the crate). A
//! [`Shader`] is one WGSL kernel: its name, the pieces of its source under
//! `shaders/`, the op codes it switches on and the layout of its uniform
//! struct. A GPU op family owns its shaders as statics and a dispatch carries
//! a `&'static Shader`, so the pipeline layer compiles what it is handed and
//! never looks a kernel up.
//!
//! The uniforms of a shader are one plain-old-data struct declared with
//! [`uniforms!`] beside it, whose [`UniformLayout`] the shader's `params`
//! names; the op codes are an enum declared with [`selectors!`]. A unit test
//! reflects every shader with naga and checks both against the WGSL.

/// One WGSL kernel: the name that keys the pipeline cache and the pieces of its
/// source, concatenated in order after the precision prelude.
#[derive(Debug)]
pub struct Shader {
    /// Unique name (pipeline labels, cache keys, profiles).
    pub name: &'static str,
    /// Source pieces: shared helpers, typed defines, then the kernel file.
    pub parts: &'static [&'static str],
    /// Named op codes put in front of the source as WGSL constants
    /// (`const NAME: u32 = code;`), from a [`selectors!`] enum.
    pub selectors: &'static [(&'static str, u32)],
    /// Layout of its uniform struct (`Params` in the WGSL, a [`uniforms!`] struct
    /// in Rust); dispatches check their uniforms against it.
    pub params: UniformLayout,
}

impl Shader {
    /// The kernel's source without the precision prelude.
    pub fn body(&self) -> String {
        let mut body: String = self
            .selectors
            .iter()
            .map(|(name, code)| format!("const {name}: u32 = {code}u;\n"))
            .collect();
        body.extend(self.parts.iter().copied());
        body
    }
}

/// Size and member offsets in bytes of a uniform struct: what the shader's WGSL
/// `Params` struct must have (a unit test reflects every shader with naga).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniformLayout {
    /// Size in bytes.
    pub size: usize,
    /// Byte offset of each member, in declaration order.
    pub offsets: &'static [usize],
}

/// A shader's uniforms as one plain-old-data struct, declared with
/// [`uniforms!`] beside the shader it feeds.
pub trait Uniform: bytemuck::Pod {
    /// Size and member offsets.
    const LAYOUT: UniformLayout;
}

/// Declares a `#[repr(u32)]` enum of a shader's op codes and, as `$list`, the
/// same codes by WGSL name for the shader's [`Shader::selectors`], so the Rust
/// enum and the WGSL constants the kernel switches on cannot drift apart.
macro_rules! selectors {
    (
        $(#[$meta:meta])*
        enum $name:ident in $list:ident {
            $($(#[$vmeta:meta])* $variant:ident = $code:literal => $wgsl:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        enum $name {
            $($(#[$vmeta])* $variant = $code,)*
        }

        /// WGSL names and codes of the enum's variants.
        const $list: &[(&str, u32)] = &[$(($wgsl, $name::$variant as u32),)*];
    };
}

/// Declares a shader's uniform struct: `#[repr(C)]`, `bytemuck::Pod`, and a
/// [`Uniform`] whose layout the shader's [`Shader::params`] names. Members are
/// 4-byte scalars or arrays of them (`[u32; 8]` for `array<vec4<u32>, 2>`),
/// or another such struct (the convolution geometry).
macro_rules! uniforms {
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
        // The GPU reads the members, through the struct's bytes.
        #[allow(dead_code)]
        pub(crate) struct $name {
            $($(#[$fmeta])* pub(crate) $field: $ty,)*
        }

        impl $name {
            /// Size and member offsets, for the shader's [`Shader::params`](crate::gpu::shader::Shader::params).
            pub(crate) const LAYOUT: $crate::gpu::shader::UniformLayout =
                $crate::gpu::shader::UniformLayout {
                    size: std::mem::size_of::<$name>(),
                    offsets: &[$(std::mem::offset_of!($name, $field),)*],
                };
        }

        impl $crate::gpu::shader::Uniform for $name {
            const LAYOUT: $crate::gpu::shader::UniformLayout = $name::LAYOUT;
        }
    };
}
