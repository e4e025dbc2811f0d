// DEPTHWISE_CONV_2D at depth multiplier 1 over channel quads: the variant of
// depthwise_conv2d.wgsl (same Params, same PIXELS blocks) for channel counts
// that are a multiple of 4, where input, filter, bias and output are read and
// written as vec4 quads (vec4<f16> at fp16, accumulated in f32). Each
// invocation computes 4 channels x PIXELS horizontally neighbouring output
// pixels: one filter quad per tap and one input quad per pixel and tap, 4
// products per load. `g.total` counts invocations:
// batch * oh * ceil(ow / PIXELS) * oc / 4.
// The weights (binding 2) come from a hook file (depthwise_w_float_x4.wgsl,
// depthwise_w_int8_x4.wgsl): `weight4(q)` reads
// filter quad q as vec4<f32> and `wscale4(q)` scales quad q's sums (1 for float
// weights; the channels' scales for int8 weights packed four to a u32 word,
// stored after the biases). Host side: src/gpu/ops/conv/float.rs.

struct Params {
    g: ConvGeom,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<scalar>>;
// Bias quads (oc / 4), then for int8 weights the scale quads.
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<scalar>>;

// Output pixels per invocation (DEPTHWISE_PIXELS in src/gpu/ops/conv/tiling.rs).
const PIXELS: u32 = 4u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let ocq = p.g.oc / 4u;
    let cq = i % ocq;
    let blk = i / ocq;
    let bw = (p.g.ow + PIXELS - 1u) / PIXELS;
    let ox0 = (blk % bw) * PIXELS;
    let t = blk / bw;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let n = min(PIXELS, p.g.ow - ox0);
    var acc: array<vec4<f32>, PIXELS>;
    for (var ky = 0u; ky < p.g.kh; ky++) {
        let iy = i32(oy * p.g.sh + ky * p.g.dh) - i32(p.g.pt);
        if (iy < 0 || iy >= i32(p.g.ih)) {
            continue;
        }
        let row = (b * p.g.ih + u32(iy)) * p.g.iw;
        for (var kx = 0u; kx < p.g.kw; kx++) {
            let wv = weight4((ky * p.g.kw + kx) * ocq + cq);
            let ixk = i32(kx * p.g.dw) - i32(p.g.pl);
            for (var j = 0u; j < n; j++) {
                let ix = i32((ox0 + j) * p.g.sw) + ixk;
                if (ix >= 0 && ix < i32(p.g.iw)) {
                    acc[j] += vec4<f32>(x[(row + u32(ix)) * ocq + cq]) * wv;
                }
            }
        }
    }
    let lo = vec4<f32>(p.act_min);
    let hi = vec4<f32>(p.act_max);
    let scale = wscale4(cq);
    let bq = bias[cq];
    let ob = ((b * p.g.oh + oy) * p.g.ow + ox0) * ocq + cq;
    for (var j = 0u; j < n; j++) {
        out[ob + j * ocq] = to_scalar4(clamp(acc[j] * scale + bq, lo, hi));
    }
}
