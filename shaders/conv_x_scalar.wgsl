// Input hook of the convolution bodies (conv2d.wgsl, conv2d_direct.wgsl):
// float input (binding 1), one element per load. `load_x(e)` reads element e as
// f32; `load_x4`, built from it, is there for the bodies' quad branch, which
// QUAD_LOADS turns off.

const QUAD_LOADS: bool = false;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
fn load_x(e: u32) -> f32 { return f32(x[e]); }
fn load_x4(q: u32) -> vec4<f32> {
    return vec4<f32>(load_x(4u * q), load_x(4u * q + 1u), load_x(4u * q + 2u), load_x(4u * q + 3u));
}
