// Weight hook of depthwise_conv2d_vec4.wgsl over int8 weights (hybrid
// models): one u32 word is one quad of 4 channels (binding 2); `wscale4(q)` is
// the quad's channel scales, stored after the bias quads.

@group(0) @binding(2) var<storage, read> w: array<u32>;
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(unpack4xI8(w[q])); }
fn wscale4(q: u32) -> vec4<f32> { return bias[p.g.oc / 4u + q]; }
