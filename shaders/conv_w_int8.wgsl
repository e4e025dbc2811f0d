// Weight hook of the float CONV_2D kernels over int8 weights (hybrid models):
// packed four to a u32 word (binding 2), dequantized in float; `wscale(c)` is
// channel c's scale, stored after the biases.

@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight4(i: u32) -> vec4<f32> { return vec4<f32>(unpack4xI8(w[i])); }
fn wscale(c: u32) -> f32 { return bias[p.g.oc + c]; }
