// DEPTHWISE_CONV_2D over NHWC input, filter [1, KH, KW, IC * M]: output channel
// c reads input channel c / M (M, the depth multiplier, is `g.fic`). One
// invocation per output element (channel innermost, so neighbouring invocations
// read neighbouring memory).
// One body for every variant; the prefix in front of it
// (depthwise_conv2d_float.wgsl with a weight define, qdepthwise_conv2d.wgsl)
// supplies `Params` (the geometry `g`, then its own members), the bindings `x`
// and `out`, and the hooks:
// - `acc_t`: the accumulator's type,
// - `load_x(e) -> acc_t`: input element e as it enters the products,
// - `weight1(e) -> acc_t`: filter element e,
// - `epilogue(acc, c)`: the value stored for the sum `acc` of output channel c.

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
    var acc = acc_t();
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
            let xv = load_x(((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * p.g.ic + ci);
            acc += xv * weight1((ky * p.g.kw + kx) * p.g.oc + c);
        }
    }
    out[i] = epilogue(acc, c);
}
