// Weight hook of depthwise_conv2d_float.wgsl: float weights (binding 2), one
// per element; `weight1(e)` reads element e, `wscale(c)` is 1.

@group(0) @binding(2) var<storage, read> w: array<scalar>;
fn weight1(e: u32) -> f32 { return f32(w[e]); }
fn wscale(c: u32) -> f32 { return 1.0; }
