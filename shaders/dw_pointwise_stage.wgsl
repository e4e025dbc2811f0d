// The depthwise stage of dw_pointwise.wgsl, one channel per step: the input
// and the depthwise filter as scalars, any channel count.

@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read> dww: array<scalar>;

fn depthwise_stage(li: u32, first: u32, count: u32) {
    let c_in = p.g.ic;
    for (var k = li; k < count * c_in; k += WORKGROUP_SIZE) {
        let c = k % c_in;
        let pix = first + k / c_in;
        let ox = pix % p.g.ow;
        let t = pix / p.g.ow;
        let oy = t % p.g.oh;
        let b = t / p.g.oh;
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
                let xv = f32(x[((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * c_in + c]);
                acc += xv * f32(dww[(ky * p.g.kw + kx) * c_in + c]);
            }
        }
        tile[k] = f32(to_scalar(clamp(acc + bias[c], p.dw_min, p.dw_max)));
    }
}
