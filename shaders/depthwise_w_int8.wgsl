// Weight hook of depthwise_conv2d_float.wgsl over int8 weights (hybrid
// models): packed four to a u32 word (binding 2); `wscale(c)` is channel c's
// scale, stored after the biases.

@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight1(e: u32) -> f32 {
    return f32(extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u));
}
fn wscale(c: u32) -> f32 { return bias[p.g.oc + c]; }
