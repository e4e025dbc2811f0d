// DEPTHWISE_CONV_2D over NHWC input, filter [1, KH, KW, IC * M] used as is:
// output channel c reads input channel c / M. One invocation per output element
// (channel innermost, so neighbouring invocations read neighbouring memory);
// f32 accumulation, f32 bias, clamp (fused activation).
// The weights (binding 2) come from the registry's define: `weight1(e)` reads
// element e as f32 and `wscale(c)` scales channel c's sum (1 for float weights;
// for int8 weights kept packed four to a u32 word, the channel's scale, stored
// after the biases).

struct Params {
    total: u32,
    ih: u32,
    iw: u32,
    ic: u32,
    oh: u32,
    ow: u32,
    oc: u32,
    kh: u32,
    kw: u32,
    m: u32,
    sh: u32,
    sw: u32,
    dh: u32,
    dw: u32,
    pt: u32,
    pl: u32,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.total) {
        return;
    }
    let c = i % p.oc;
    let pix = i / p.oc;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let ci = c / p.m;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pt);
        if (iy < 0 || iy >= i32(p.ih)) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pl);
            if (ix < 0 || ix >= i32(p.iw)) {
                continue;
            }
            let xv = f32(x[((b * p.ih + u32(iy)) * p.iw + u32(ix)) * p.ic + ci]);
            acc += xv * weight1((ky * p.kw + kx) * p.oc + c);
        }
    }
    out[i] = to_scalar(clamp(acc * wscale(c) + bias[c], p.act_min, p.act_max));
}
