// DEPTHWISE_CONV_2D over NHWC input, filter [1, KH, KW, IC * M] used as is:
// output channel c reads input channel c / M. One invocation per output element
// (channel innermost, so neighbouring invocations read neighbouring memory);
// f32 accumulation, f32 bias, clamp (fused activation).
// The weights (binding 2) come from the registry's define: `weight1(e)` reads
// element e as f32 and `wscale(c)` scales channel c's sum (1 for float weights;
// for int8 weights kept packed four to a u32 word, the channel's scale, stored
// after the biases).

struct Params {
    g: ConvGeom,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let c = i % p.g.oc;
    let pix = i / p.g.oc;
    let ox = pix % p.g.ow;
    let t = pix / p.g.ow;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let ci = c / p.g.fic;
    var acc = 0.0;
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
            let xv = f32(x[((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * p.g.ic + ci]);
            acc += xv * weight1((ky * p.g.kw + kx) * p.g.oc + c);
        }
    }
    out[i] = to_scalar(clamp(acc * wscale(c) + bias[c], p.act_min, p.act_max));
}
