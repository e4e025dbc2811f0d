// Weight hook of depthwise_conv2d_vec4.wgsl: float weights (binding 2) as
// quads of 4 channels; `weight4(q)` reads quad q, `wscale4(q)` is 1.

@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(w[q]); }
fn wscale4(q: u32) -> vec4<f32> { return vec4<f32>(1.0); }
