// Float hooks of depthwise_conv2d.wgsl: storage-precision input, f32
// accumulation, f32 bias, clamp (fused activation). The weights (binding 2)
// come from a hook file (depthwise_w_float.wgsl, depthwise_w_int8.wgsl):
// `weight1(e)` reads element e as f32 and `wscale(c)` scales channel c's sum
// (1 for float weights; for int8 weights kept packed four to a u32 word, the
// channel's scale, stored after the biases).

struct Params {
    g: ConvGeom,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

alias acc_t = f32;

fn load_x(e: u32) -> f32 {
    return f32(x[e]);
}

fn epilogue(acc: f32, c: u32) -> scalar {
    return to_scalar(clamp(acc * wscale(c) + bias[c], p.act_min, p.act_max));
}
