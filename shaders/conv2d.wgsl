// CONV_2D over NHWC input as an implicit GEMM: rows are the output pixels
// (M = batch * oh * ow, `g.total`), columns the output channels of one group in
// vec4 quads, and the reduction runs over K = kh * kw * fic in (ky, kx, ci)
// order. Weights are re-laid out at lowering as w[group][k][quad] (4
// consecutive output channels of the group per quad, zero-padded), any
// stride/dilation/padding, grouped when ic = groups * fic.
//
// One workgroup of 64 invocations computes a tile of TILE_M pixels x TILE_Q
// quads of one group; each invocation holds 4 pixels x 4 channels in registers.
// K advances KT steps at a time through workgroup memory: an input tile of
// KT x TILE_M values (each invocation loads one k for 4 pixels, so the window
// arithmetic runs once per stage) and a weight tile of KT x TILE_Q quads (one
// per invocation). Taps outside the input are zeros in the tile.
// POINTWISE (an override constant): a 1x1 filter at stride 1 without padding,
// where pixel m's input row starts at x[m * ic]: no window arithmetic.
//
// One body for every variant; the prefix in front of it (conv2d_float.wgsl with
// a weight define, qconv2d.wgsl) supplies `Params` (the geometry `g`, then the
// output channels per group `ocg`, the vec4 quads per group `ocq` and `groups`),
// the bindings `x` and `out`, and the hooks:
// - `acc_t`: the accumulator's scalar type,
// - `load_x(e) -> acc_t`: input element e as it enters the products,
// - `weight4(i) -> vec4<acc_t>`: weight quad i,
// - `epilogue(acc, c, o)`: the value stored at out[o] for the sum `acc` of
//   output channel c.
// Host side: src/gpu/ops/conv.rs (float), qconv.rs (integer), tiling.rs (the
// dispatch size).

override POINTWISE: bool = false;

// Pixels and quads of one workgroup tile, and K steps per stage. The roles of
// the 64 invocations below assume TILE_M = 32, TILE_Q = 8 and KT = 8.
const TILE_M: u32 = 32u;
const TILE_Q: u32 = 8u;
const KT: u32 = 8u;

var<workgroup> xs: array<array<acc_t, TILE_M>, KT>;
var<workgroup> ws: array<array<vec4<acc_t>, TILE_Q>, KT>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let tiles_q = (p.ocq + TILE_Q - 1u) / TILE_Q;
    let tiles_n = tiles_q * p.groups;
    let pixels = p.g.total;
    let tile = wg.y * nw.x + wg.x;
    if (tile >= ((pixels + TILE_M - 1u) / TILE_M) * tiles_n) {
        return;
    }
    let tn = tile % tiles_n;
    let m0 = (tile / tiles_n) * TILE_M;
    let g = tn / tiles_q;
    let q0 = (tn % tiles_q) * TILE_Q;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let ch0 = g * p.g.fic;

    // Input loader: k column lk of the stage, pixels lm + 8 * r.
    let lk = li % KT;
    let lm = li / KT;
    var iy0: array<i32, 4>;
    var ix0: array<i32, 4>;
    var xrow: array<u32, 4>;
    var live: array<bool, 4>;
    for (var r = 0u; r < 4u; r++) {
        let m = m0 + lm + 8u * r;
        live[r] = m < pixels;
        let mm = min(m, pixels - 1u);
        if (POINTWISE) {
            xrow[r] = mm * p.g.ic + ch0;
        } else {
            let ox = mm % p.g.ow;
            let t = mm / p.g.ow;
            let oy = t % p.g.oh;
            let b = t / p.g.oh;
            iy0[r] = i32(oy * p.g.sh) - i32(p.g.pt);
            ix0[r] = i32(ox * p.g.sw) - i32(p.g.pl);
            xrow[r] = b * p.g.ih * p.g.iw * p.g.ic + ch0;
        }
    }
    // Weight loader: k row wk of the stage, quad wq of the tile.
    let wk = li / TILE_Q;
    let wq = li % TILE_Q;
    let wlive = q0 + wq < p.ocq;
    let wbase = g * k * p.ocq + q0 + wq;
    // Products: quad cq of the tile, pixels cm + 8 * j.
    let cq = li % TILE_Q;
    let cm = li / TILE_Q;
    var acc: array<vec4<acc_t>, 4>;
    for (var k0 = 0u; k0 < k; k0 += KT) {
        let kk = k0 + lk;
        let ci = kk % p.g.fic;
        let t = kk / p.g.fic;
        let dy = i32((t / p.g.kw) * p.g.dh);
        let dx = i32((t % p.g.kw) * p.g.dw);
        for (var r = 0u; r < 4u; r++) {
            var v = acc_t();
            if (live[r] && kk < k) {
                if (POINTWISE) {
                    v = load_x(xrow[r] + kk);
                } else {
                    let iy = iy0[r] + dy;
                    let ix = ix0[r] + dx;
                    if (iy >= 0 && iy < i32(p.g.ih) && ix >= 0 && ix < i32(p.g.iw)) {
                        v = load_x(xrow[r] + (u32(iy) * p.g.iw + u32(ix)) * p.g.ic + ci);
                    }
                }
            }
            xs[lk][lm + 8u * r] = v;
        }
        var wv = vec4<acc_t>();
        if (wlive && k0 + wk < k) {
            wv = weight4(wbase + (k0 + wk) * p.ocq);
        }
        ws[wk][wq] = wv;
        workgroupBarrier();
        for (var s = 0u; s < KT; s++) {
            let wq4 = ws[s][cq];
            for (var j = 0u; j < 4u; j++) {
                acc[j] += xs[s][cm + 8u * j] * wq4;
            }
        }
        workgroupBarrier();
    }
    let quad = q0 + cq;
    if (quad >= p.ocq) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let m = m0 + cm + 8u * j;
        if (m < pixels) {
            let ob = m * p.g.oc + g * p.ocg;
            for (var jj = 0u; jj < 4u; jj++) {
                let c = quad * 4u + jj;
                if (c < p.ocg) {
                    out[ob + c] = epilogue(acc[j][jj], g * p.ocg + c, ob + c);
                }
            }
        }
    }
}
