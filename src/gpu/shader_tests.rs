//! Every shader parses and validates with naga under both preludes (and, where
//! it stores f16 values, with the overflow guard's).

use super::ops::all_shaders;
use super::pipeline::{guarded_source, guards, shader_source, Precision};

#[test]
fn every_shader_validates_under_every_prelude() {
    let mut names = std::collections::HashSet::new();
    for shader in all_shaders() {
        let name = shader.name;
        assert!(names.insert(name), "two shaders are named {name}");
        for p in [Precision::F32, Precision::F16] {
            let source = shader_source(shader, p);
            let module = naga::front::wgsl::parse_str(&source)
                .unwrap_or_else(|e| panic!("{name} ({p:?}): {}", e.emit_to_string(&source)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name} ({p:?}): {e:?}"));
        }
    }
    // A floor, not a count: adding a family needs no edit of this file (and
    // `ops::registry_tests::every_family_is_listed` checks that every family
    // is in the registry this walks).
    assert!(names.len() >= 37, "only {} shaders registered", names.len());
}

/// Every shader's WGSL `Params` struct has the size and member offsets of the
/// Rust uniform struct its family dispatches it with.
#[test]
fn every_params_struct_matches_its_rust_struct() {
    for shader in all_shaders() {
        let name = shader.name;
        let source = shader_source(shader, Precision::F32);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let (members, span) = module
            .types
            .iter()
            .find_map(|(_, ty)| match &ty.inner {
                naga::TypeInner::Struct { members, span }
                    if ty.name.as_deref() == Some("Params") =>
                {
                    Some((members, *span))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name} has no Params struct"));
        let offsets: Vec<usize> = members.iter().map(|m| m.offset as usize).collect();
        assert_eq!(
            (span as usize, offsets.as_slice()),
            (shader.params.size, shader.params.offsets),
            "{name}: WGSL Params (size, offsets) vs the Rust struct"
        );
    }
}

/// The op codes the shaders switch on are the Rust enums' (generated constants).
#[test]
fn selector_constants_are_in_front_of_their_shaders() {
    for shader in all_shaders() {
        let source = shader_source(shader, Precision::F32);
        for (name, code) in shader.selectors {
            assert!(
                source.contains(&format!("const {name}: u32 = {code}u;")),
                "{}: {name}",
                shader.name
            );
        }
    }
}

/// Every kernel that guards parses and validates with the guarded f16 prelude,
/// and the guard leaves f32 kernels and kernels without `to_scalar` alone.
#[test]
fn guarded_shaders_validate() {
    let mut guarded = 0;
    for shader in all_shaders() {
        let name = shader.name;
        assert!(!guards(shader, Precision::F32));
        assert_eq!(
            guarded_source(shader, Precision::F32, true),
            shader_source(shader, Precision::F32)
        );
        if !guards(shader, Precision::F16) {
            assert_eq!(
                guarded_source(shader, Precision::F16, true),
                shader_source(shader, Precision::F16)
            );
            continue;
        }
        guarded += 1;
        let source = guarded_source(shader, Precision::F16, true);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    assert!(guarded > 0);
}

/// The pipeline cache keys a kernel by its name: two different kernels never
/// share one (a family may list another's kernel: the same source).
#[test]
fn kernel_names_are_unique() {
    use crate::gpu::shader::Shader;
    let mut seen: std::collections::HashMap<&str, &'static Shader> =
        std::collections::HashMap::new();
    for shader in crate::gpu::ops::all_shaders() {
        let first = *seen.entry(shader.name).or_insert(shader);
        assert!(
            std::ptr::eq(first, shader)
                || (first.body() == shader.body() && first.defines == shader.defines),
            "two kernels are named {}",
            shader.name
        );
    }
    assert!(seen.len() > 20);
}
