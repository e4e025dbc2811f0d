// CONV_2D over NHWC input, direct: each invocation accumulates 4 consecutive
// output channels of one output pixel (no workgroup memory, no barriers) and
// stores each channel's epilogue. The variant `gpu/ops/conv/tiling.rs` picks on CPU
// adapters (lavapipe), where the tiled implicit GEMM of conv2d.wgsl pays more
// for its barriers and workgroup-memory staging than it saves; real GPUs run the
// tiled body. `g.total` counts invocations: pixels x groups x quads.
// Same prefix and hooks as conv2d.wgsl (`acc_t`, `QUAD_LOADS`, `load_x`,
// `load_x4`, `weight4`, `epilogue(acc, c, o)`) and the same weight layout
// w[group][k][quad], so the float and integer kernels share it too.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let quad = i % p.ocq;
    let r = i / p.ocq;
    let g = r % p.groups;
    // Linear output pixel (b * oh + oy) * ow + ox.
    let pix = r / p.groups;
    let ox = pix % p.g.ow;
    let t = pix / p.g.ow;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let wbase = g * k * p.ocq + quad;
    var acc = vec4<acc_t>();
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
            if (QUAD_LOADS) {
                // xb and fic are multiples of 4: 16 products per input quad,
                // summed one channel at a time in the scalar loop's order, so
                // both variants (and every other kernel walking k in order, such
                // as the 1x1 half of dw_pointwise.wgsl) round alike.
                let x0 = xb / 4u;
                for (var cq = 0u; cq < p.g.fic / 4u; cq++) {
                    let xv = load_x4(x0 + cq);
                    let w = wb + cq * 4u * p.ocq;
                    acc += xv.x * weight4(w);
                    acc += xv.y * weight4(w + p.ocq);
                    acc += xv.z * weight4(w + 2u * p.ocq);
                    acc += xv.w * weight4(w + 3u * p.ocq);
                }
            } else {
                for (var ci = 0u; ci < p.g.fic; ci++) {
                    acc += load_x(xb + ci) * weight4(wb + ci * p.ocq);
                }
            }
        }
    }
    // The channel loop's trip count comes from a uniform, so a driver keeps it
    // rolled: one copy of the epilogue in the compiled kernel, not four.
    let ob = pix * p.g.oc + g * p.ocg;
    let c0 = quad * 4u;
    let nc = min(4u, p.ocg - c0);
    for (var j = 0u; j < nc; j++) {
        let c = c0 + j;
        out[ob + c] = epilogue(acc[j], g * p.ocg + c, ob + c);
    }
}
