//! Every shader parses and validates with naga under both preludes.

use super::pipeline::{Precision, SHADERS};

#[test]
fn every_shader_validates_under_every_prelude() {
    for (name, body) in SHADERS {
        for p in [Precision::F32, Precision::F16] {
            let source = format!("{}{}", p.prelude(), body);
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
}
