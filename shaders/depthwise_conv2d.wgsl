// DEPTHWISE_CONV_2D over NHWC input, filter [1, KH, KW, IC * M]: output channel
// c reads input channel c / M (M, the depth multiplier, is `g.fic`). Each
// invocation computes PIXELS horizontally neighbouring output pixels of one
// channel (channel innermost, so neighbouring invocations read neighbouring
// memory): every filter tap is loaded once for the block's pixels, and at
// stride 1 the block's windows overlap, so its input loads hit the cache.
// `g.total` counts invocations: batch * oh * ceil(ow / PIXELS) * oc.
// One body for every variant; the prefix in front of it
// (depthwise_conv2d_float.wgsl with a weight hook file, qdepthwise_conv2d.wgsl)
// supplies `Params` (the geometry `g`, then its own members), the bindings `x`
// and `out`, and the hooks:
// - `acc_t`: the accumulator's type,
// - `load_x(e) -> acc_t`: input element e as it enters the products,
// - `weight1(e) -> acc_t`: filter element e,
// - `epilogue(acc, c)`: the value stored for the sum `acc` of output channel c.
// At depth multiplier 1 with channels a multiple of 4 the float kernels take
// depthwise_conv2d_vec4.wgsl instead (channel quads, vec4 loads).

// Output pixels per invocation (DEPTHWISE_PIXELS in src/gpu/ops/conv/tiling.rs).
const PIXELS: u32 = 4u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let c = i % p.g.oc;
    let blk = i / p.g.oc;
    let bw = (p.g.ow + PIXELS - 1u) / PIXELS;
    let ox0 = (blk % bw) * PIXELS;
    let t = blk / bw;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let ci = c / p.g.fic;
    let n = min(PIXELS, p.g.ow - ox0);
    var acc: array<acc_t, PIXELS>;
    for (var ky = 0u; ky < p.g.kh; ky++) {
        let iy = i32(oy * p.g.sh + ky * p.g.dh) - i32(p.g.pt);
        if (iy < 0 || iy >= i32(p.g.ih)) {
            continue;
        }
        let row = (b * p.g.ih + u32(iy)) * p.g.iw;
        for (var kx = 0u; kx < p.g.kw; kx++) {
            let wv = weight1((ky * p.g.kw + kx) * p.g.oc + c);
            let ixk = i32(kx * p.g.dw) - i32(p.g.pl);
            for (var j = 0u; j < n; j++) {
                let ix = i32((ox0 + j) * p.g.sw) + ixk;
                if (ix >= 0 && ix < i32(p.g.iw)) {
                    acc[j] += load_x((row + u32(ix)) * p.g.ic + ci) * wv;
                }
            }
        }
    }
    let ob = ((b * p.g.oh + oy) * p.g.ow + ox0) * p.g.oc + c;
    for (var j = 0u; j < n; j++) {
        out[ob + j * p.g.oc] = epilogue(acc[j], c);
    }
}
