// CONV_2D over NHWC input with weights re-laid out at lowering as
// w[group][ky][kx][ci][oc4] (vec4 of 4 consecutive output channels of the group,
// zero-padded), any stride/dilation/padding, grouped when ic = groups * fic.
// Each invocation computes 4 consecutive output channels of one output pixel in
// f32 (vec4 accumulator), adds the f32 bias, with RESIDUAL also the matching
// element of `res` (a residual ADD fused into the convolution), and clamps
// (fused activation).
// The weights (binding 2) come from the registry's define: `weight4(i)` reads quad
// i as vec4<f32> and `wscale(c)` scales channel c's sum (1 for float weights; for
// int8 weights kept packed, four channels to a u32 word, the channel's scale,
// stored after the biases).

override RESIDUAL: bool = false;

struct Params {
    g: ConvGeom,
    // Output channels per group and vec4 quads per group.
    ocg: u32,
    ocq: u32,
    groups: u32,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<scalar>;
@group(0) @binding(5) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let q = i % p.ocq;
    let r = i / p.ocq;
    let g = r % p.groups;
    // Linear output pixel (b * oh + oy) * ow + ox.
    let pix = r / p.groups;
    let ox = pix % p.g.ow;
    let t = pix / p.g.ow;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let wbase = g * k * p.ocq + q;
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.g.kh; ky++) {
        let iy = i32(oy * p.g.sh + ky * p.g.dh) - i32(p.g.pt);
        if (iy < 0 || iy >= i32(p.g.ih)) {
            continue;
        }
        for (var kx = 0u; kx < p.g.kw; kx++) {
            let ix = i32(ox * p.g.sw + kx * p.g.dw) - i32(p.g.pl);
            if (ix < 0 || ix >= i32(p.g.iw)) {
                continue;
            }
            let xb = ((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * p.g.ic + g * p.g.fic;
            let wb = wbase + (ky * p.g.kw + kx) * p.g.fic * p.ocq;
            for (var ci = 0u; ci < p.g.fic; ci++) {
                acc += f32(x[xb + ci]) * weight4(wb + ci * p.ocq);
            }
        }
    }
    let ob = pix * p.g.oc + g * p.ocg;
    for (var j = 0u; j < 4u; j++) {
        let c = q * 4u + j;
        if (c < p.ocg) {
            var v = acc[j] * wscale(g * p.ocg + c) + bias[g * p.ocg + c];
            if (RESIDUAL) {
                // Rounded to storage first, so the fused sum equals CONV_2D then ADD.
                v = f32(to_scalar(v)) + f32(res[ob + c]);
            }
            out[ob + c] = to_scalar(clamp(v, p.act_min, p.act_max));
        }
    }
}
