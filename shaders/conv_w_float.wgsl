// Weight hook of the float CONV_2D kernels: float weights (binding 2), four
// output channels per vec4; `weight4(i)` reads quad i, `wscale(c)` is 1.

@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;
fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(w[i]); }
fn wscale(c: u32) -> f32 { return 1.0; }
