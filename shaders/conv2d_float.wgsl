// Float hooks of conv2d.wgsl (CONV_2D): storage-precision input, f32
// accumulation. The input (binding 1) and its loads come from a hook file in
// front of it (conv_x_scalar.wgsl: one element per load, or conv_x_quad.wgsl:
// vec4 quads); the weights (binding 2) from another (conv_w_float.wgsl,
// conv_w_int8.wgsl):
// `weight4(i)` reads quad i as vec4<f32> and `wscale(c)` scales channel c's sum
// (1 for float weights; for int8 weights kept packed, four channels to a u32
// word, the channel's scale, stored after the biases). The epilogue adds the f32
// bias, clamps (fused activation), then applies the fused element-wise steps of
// epilogue.wgsl (a residual ADD, PRELU, ...) with their operands `e0` and `e1`.

struct Params {
    g: ConvGeom,
    // Output channels per group and vec4 quads per group.
    ocg: u32,
    ocq: u32,
    groups: u32,
    act_min: f32,
    act_max: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    e: Epilogue,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> e0: array<scalar>;
@group(0) @binding(5) var<storage, read> e1: array<scalar>;
@group(0) @binding(6) var<storage, read_write> out: array<scalar>;

alias acc_t = f32;

fn epilogue(acc: f32, c: u32, o: u32) -> scalar {
    let v = clamp(acc * wscale(c) + bias[c], p.act_min, p.act_max);
    return ep_store(v, c, o, 0u);
}
