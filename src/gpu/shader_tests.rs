//! Every shader parses and validates with naga under both preludes.

use super::ops::all_shaders;
use super::pipeline::{shader_source, Precision};

#[test]
fn every_shader_validates_under_every_prelude() {
    let mut names = std::collections::HashSet::new();
    for shader in all_shaders() {
        let name = shader.name;
        assert!(names.insert(name), "two shaders are named {name}");
        for p in [Precision::F32, Precision::F16] {
            let source = shader_source(name, p).expect("the shader is registered");
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
    assert!(names.len() == 37, "only {} shaders registered", names.len());
}
