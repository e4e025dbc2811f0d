// Input hook of the convolution bodies (conv2d.wgsl, conv2d_direct.wgsl):
// float input (binding 1) as vec4 quads, 4 input channels per load
// (`load_x4(q)`; the bodies' scalar branch, turned off by QUAD_LOADS, reads
// single elements of the quads with `load_x`). Needs every group's channels and
// `fic` to be 4-aligned.

const QUAD_LOADS: bool = true;
@group(0) @binding(1) var<storage, read> x: array<vec4<scalar>>;
fn load_x4(q: u32) -> vec4<f32> { return vec4<f32>(x[q]); }
fn load_x(e: u32) -> f32 { return f32(x[e / 4u][e % 4u]); }
