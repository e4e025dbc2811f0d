//! Kernels as typed handles (a leaf: it imports nothing of the crate). A
//! [`Shader`] is one WGSL kernel: its name, the pieces of its source under
//! `shaders/`, the op codes it switches on, the typed defines that make it one
//! variant of a file ([`Define`]) and the layout of its uniform struct.
//! [`Shader::source`] is the one place a kernel's WGSL is put together; no
//! WGSL lives in a Rust string (a test scans `src/gpu` for it). A GPU op family owns its shaders as statics and a dispatch carries
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
    /// Typed defines put in front of the source, after the op codes.
    pub defines: &'static [Define],
    /// Layout of its uniform struct (`Params` in the WGSL, a [`uniforms!`] struct
    /// in Rust); dispatches check their uniforms against it.
    pub params: UniformLayout,
}

impl Shader {
    /// The kernel's source without the prelude: its op codes and defines, then
    /// its pieces in order.
    pub fn body(&self) -> String {
        let mut body: String = self
            .selectors
            .iter()
            .map(|&(name, code)| Define::U32(name, code).wgsl())
            .collect();
        body.extend(self.defines.iter().map(Define::wgsl));
        body.extend(self.parts.iter().copied());
        body
    }

    /// The finished WGSL of the kernel: `prelude` (the precision prologue the
    /// pipeline picks), the workgroup size every kernel declares itself with
    /// (`WORKGROUP_SIZE`), then the [`body`](Shader::body).
    pub fn source(&self, prelude: &str, workgroup_size: u32) -> String {
        let mut source = prelude.to_string();
        source += &Define::U32("WORKGROUP_SIZE", workgroup_size).wgsl();
        source += &self.body();
        source
    }
}

/// A typed define: a module-scope WGSL declaration whose value the Rust side
/// picks per variant, so that one `.wgsl` file serves several kernels (the
/// comparison kernel over floats or over int32 is `elem` as
/// [`WgslType::Scalar`] or [`WgslType::I32`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Define {
    /// A type alias: `alias NAME = TYPE;`.
    Alias(&'static str, WgslType),
    /// An unsigned constant: `const NAME: u32 = VALUE;`.
    U32(&'static str, u32),
}

/// A WGSL scalar type a [`Define::Alias`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgslType {
    /// The storage scalar of the prelude (f32, or f16 at half precision).
    Scalar,
    /// 32-bit signed integer.
    I32,
}

impl WgslType {
    /// The type's WGSL name.
    pub fn name(self) -> &'static str {
        match self {
            WgslType::Scalar => "scalar",
            WgslType::I32 => "i32",
        }
    }
}

impl Define {
    /// The declaration, one line.
    pub fn wgsl(&self) -> String {
        match *self {
            Define::Alias(name, ty) => format!("alias {name} = {};\n", ty.name()),
            Define::U32(name, value) => format!("const {name}: u32 = {value}u;\n"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The assembled kernel is the prelude, the workgroup size, the op codes,
    /// the defines, then the pieces in order. (The expected text is built from
    /// the renderings, checked separately, since no WGSL lives in Rust strings.)
    #[test]
    fn a_kernel_is_its_prelude_workgroup_size_codes_defines_then_pieces() {
        static KERNEL: Shader = Shader {
            name: "kernel",
            parts: &["// first piece\n", "// second piece\n"],
            selectors: &[("OP_ADD", 3)],
            defines: &[Define::Alias("elem", WgslType::I32)],
            params: UniformLayout {
                size: 16,
                offsets: &[0],
            },
        };
        let size = Define::U32("WORKGROUP_SIZE", 64).wgsl();
        let code = Define::U32("OP_ADD", 3).wgsl();
        let alias = Define::Alias("elem", WgslType::I32).wgsl();
        assert_eq!(
            KERNEL.source("// prelude\n", 64),
            format!("// prelude\n{size}{code}{alias}// first piece\n// second piece\n")
        );
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            words(&size),
            ["const", "WORKGROUP_SIZE:", "u32", "=", "64u;"]
        );
        assert_eq!(words(&alias), ["alias", "elem", "=", "i32;"]);
        let scalar = Define::Alias("elem", WgslType::Scalar).wgsl();
        assert_eq!(words(&scalar), ["alias", "elem", "=", "scalar;"]);
        assert!([size, code, alias, scalar]
            .iter()
            .all(|d| d.ends_with(";\n")));
    }
}
