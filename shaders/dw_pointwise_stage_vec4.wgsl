// The depthwise stage of dw_pointwise.wgsl over channel quads, for channel
// counts that are a multiple of 4: each step computes 4 channels of one pixel
// from vec4 quads of the input and the filter (vec4<f16> at fp16, accumulated
// in f32), 4 products per load.

@group(0) @binding(1) var<storage, read> x: array<vec4<scalar>>;
@group(0) @binding(2) var<storage, read> dww: array<vec4<scalar>>;

fn depthwise_stage(li: u32, first: u32, count: u32) {
    let cq_in = p.g.ic / 4u;
    let lo = vec4<f32>(p.dw_min);
    let hi = vec4<f32>(p.dw_max);
    for (var k = li; k < count * cq_in; k += WORKGROUP_SIZE) {
        let cq = k % cq_in;
        let pix = first + k / cq_in;
        let ox = pix % p.g.ow;
        let t = pix / p.g.ow;
        let oy = t % p.g.oh;
        let b = t / p.g.oh;
        var acc = vec4<f32>();
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
                let xv = vec4<f32>(x[((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * cq_in + cq]);
                acc += xv * vec4<f32>(dww[(ky * p.g.kw + kx) * cq_in + cq]);
            }
        }
        let c = cq * 4u;
        let v = clamp(acc + vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]), lo, hi);
        let base = k * 4u;
        // p.g.ic - c is at least 4; a bound from a uniform keeps the loop rolled
        // (one guarded store in the compiled kernel, not four).
        let n = min(4u, p.g.ic - c);
        for (var j = 0u; j < n; j++) {
            tile[base + j] = f32(to_scalar(v[j]));
        }
    }
}
