// CONV_2D over NHWC input as an implicit GEMM: rows are the output pixels
// (M = batch * oh * ow, `g.total`), columns the output channels of one group in
// vec4 quads, and the reduction runs over K = kh * kw * fic in (ky, kx, ci)
// order. Weights are re-laid out at lowering as w[group][k][quad] (4
// consecutive output channels of the group per quad, zero-padded), any
// stride/dilation/padding, grouped when ic = groups * fic.
//
// One workgroup of WG invocations computes a tile of TILE_M pixels x TQ quads
// of one group. The override constants shape it to the node and the device:
// - TQ (1 to 16): quads of the tile;
// - RM (1, 2 or 4): pixels of one invocation, RM x 4 sums in registers;
// - SK (1, 2, 4 or 8): K slices. The invocations form SK teams of
//   TM = WG / (SK * TQ) pixel rows x TQ quads, each summing every SK-th group of
//   KT steps; slice 0 adds the other slices' sums (through workgroup memory)
//   before the epilogue. Split K gives a small image with a long K (7 x 7
//   pixels, K = 960) enough invocations without long serial sums;
// - WG (64, 128 or 256): invocations per workgroup;
// so TILE_M = RM * TM. The defaults (TQ 8, RM 4, SK 1, WG 64) are the tiles
// CPU adapters run.
// K advances KC = SK * KT steps per stage through workgroup memory, double
// buffered: while the products of stage t read one buffer, the loads of stage
// t + 1 fill the other, one barrier per stage. A stage holds an input tile of
// KC x TILE_M values (each invocation loads one k for several pixels, or with
// QUAD_LOADS a quad of 4 consecutive k of one tap, so the window arithmetic
// runs once per stage) and a weight tile of KC x TQ quads. Taps outside the
// input are zeros in the tile.
// POINTWISE (an override constant): a 1x1 filter at stride 1 without padding,
// where pixel m's input row starts at x[m * ic]: no window arithmetic.
// The host keeps KC * TILE_M <= XS, KC * TQ <= WS and, with split K,
// (SK - 1) * (WG / SK) * RM <= 2 * WS (src/gpu/ops/conv/occupancy.rs).
//
// One body for every variant; the prefix in front of it (conv2d_float.wgsl with
// an input and a weight hook file, qconv2d.wgsl) supplies `Params` (the geometry `g`, then the
// output channels per group `ocg`, the vec4 quads per group `ocq` and `groups`),
// the bindings `x` and `out`, and the hooks:
// - `acc_t`: the accumulator's scalar type,
// - `QUAD_LOADS`: a const, true when the input is bound as vec4 quads (every
//   group's channels start 4-aligned and fic is a multiple of 4, so a quad of
//   4 consecutive k never leaves its tap),
// - `load_x(e) -> acc_t`: input element e as it enters the products,
// - `load_x4(q) -> vec4<acc_t>`: input quad q (elements 4q .. 4q + 3),
// - `weight4(i) -> vec4<acc_t>`: weight quad i,
// - `epilogue(acc, c, o)`: the value stored at out[o] for the sum `acc` of
//   output channel c.
// Host side: src/gpu/ops/conv/float.rs (float), int8.rs (integer), tiling.rs
// and occupancy.rs (the tiles and the dispatch size).

override POINTWISE: bool = false;

override TQ: u32 = 8u;
override RM: u32 = 4u;
override SK: u32 = 1u;
override WG: u32 = 64u;
// Pixel rows of one slice's invocations, pixels of the tile.
override TM: u32 = WG / (SK * TQ);
override TILE_M: u32 = RM * TM;
// K steps of one slice per stage, K steps per stage.
const KT: u32 = 8u;
override KC: u32 = SK * KT;
// Values of one input buffer (KC x TILE_M), quads of one weight buffer
// (KC x TQ); two of each.
const XS: u32 = 1024u;
const WS: u32 = 256u;
// Pixels per input loader at most (KC * TILE_M / WG with WG >= 64).
const MAX_LOADS: u32 = 16u;

var<workgroup> xs: array<acc_t, 2048>;
var<workgroup> ws: array<vec4<acc_t>, 512>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let tiles_q = (p.ocq + TQ - 1u) / TQ;
    let tiles_n = tiles_q * p.groups;
    let pixels = p.g.total;
    let tile = wg.y * nw.x + wg.x;
    if (tile >= ((pixels + TILE_M - 1u) / TILE_M) * tiles_n) {
        return;
    }
    let tn = tile % tiles_n;
    let m0 = (tile / tiles_n) * TILE_M;
    let g = tn / tiles_q;
    let q0 = (tn % tiles_q) * TQ;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let ch0 = g * p.g.fic;

    // Input loader: k columns lk .. lk + width - 1 of the stage (width 1, or 4
    // with quad loads), pixels lm + rows * r.
    let width = select(1u, 4u, QUAD_LOADS);
    let cols = KC / width;
    let rows = WG / cols;
    let lk = (li % cols) * width;
    let lm = li / cols;
    let loads = (TILE_M + rows - 1u) / rows;
    var iy0: array<i32, MAX_LOADS>;
    var ix0: array<i32, MAX_LOADS>;
    var xrow: array<u32, MAX_LOADS>;
    var live: array<bool, MAX_LOADS>;
    for (var r = 0u; r < loads; r++) {
        let m = m0 + lm + rows * r;
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
    // Weight loader: quads e = li, li + WG, ... of the KC x TQ weight tile.
    let wbase = g * k * p.ocq + q0;
    // Products: slice `slice`, quad cq of the tile, pixels cm + TM * j.
    let team = TM * TQ;
    let slice = li / team;
    let rt = li % team;
    let cq = rt % TQ;
    let cm = rt / TQ;
    var acc: array<vec4<acc_t>, 4>;
    let stages = (k + KC - 1u) / KC;
    // Iteration t loads stage t into buffer t % 2 and multiplies stage t - 1
    // out of the other one.
    for (var t = 0u; t <= stages; t++) {
        if (t < stages) {
            let k0 = t * KC;
            let xb = (t % 2u) * XS;
            let kk = k0 + lk;
            let ci = kk % p.g.fic;
            let tap = kk / p.g.fic;
            let dy = i32((tap / p.g.kw) * p.g.dh);
            let dx = i32((tap % p.g.kw) * p.g.dw);
            for (var r = 0u; r < loads; r++) {
                let mr = lm + rows * r;
                if (mr >= TILE_M) {
                    break;
                }
                var v = vec4<acc_t>();
                var e = 0u;
                var inside = false;
                if (live[r] && kk < k) {
                    if (POINTWISE) {
                        e = xrow[r] + kk;
                        inside = true;
                    } else {
                        let iy = iy0[r] + dy;
                        let ix = ix0[r] + dx;
                        inside = iy >= 0 && iy < i32(p.g.ih) && ix >= 0 && ix < i32(p.g.iw);
                        e = xrow[r] + (u32(iy) * p.g.iw + u32(ix)) * p.g.ic + ci;
                    }
                }
                if (QUAD_LOADS) {
                    if (inside) {
                        v = load_x4(e / 4u);
                    }
                    for (var j = 0u; j < 4u; j++) {
                        xs[xb + (lk + j) * TILE_M + mr] = v[j];
                    }
                } else {
                    if (inside) {
                        v.x = load_x(e);
                    }
                    xs[xb + lk * TILE_M + mr] = v.x;
                }
            }
            let wb = (t % 2u) * WS;
            for (var e = li; e < KC * TQ; e += WG) {
                let wk = e / TQ;
                let wq = e % TQ;
                var wv = vec4<acc_t>();
                if (q0 + wq < p.ocq && k0 + wk < k) {
                    wv = weight4(wbase + (k0 + wk) * p.ocq + wq);
                }
                ws[wb + e] = wv;
            }
        }
        if (t > 0u) {
            let xb = ((t - 1u) % 2u) * XS;
            let wb = ((t - 1u) % 2u) * WS;
            for (var s = 0u; s < KT; s++) {
                let kl = slice * KT + s;
                let wq4 = ws[wb + kl * TQ + cq];
                let xr = xb + kl * TILE_M + cm;
                for (var j = 0u; j < RM; j++) {
                    acc[j] += xs[xr + TM * j] * wq4;
                }
            }
        }
        workgroupBarrier();
    }
    // Split K: slices 1 .. SK - 1 leave their sums in the weight buffers (free
    // after the last barrier), slice 0 adds them in slice order.
    if (SK > 1u) {
        if (slice > 0u) {
            for (var j = 0u; j < RM; j++) {
                ws[((slice - 1u) * team + rt) * RM + j] = acc[j];
            }
        }
        workgroupBarrier();
        if (slice == 0u) {
            for (var s = 1u; s < SK; s++) {
                for (var j = 0u; j < RM; j++) {
                    acc[j] += ws[((s - 1u) * team + rt) * RM + j];
                }
            }
        }
    }
    let quad = q0 + cq;
    if (slice > 0u || quad >= p.ocq) {
        return;
    }
    for (var j = 0u; j < RM; j++) {
        let m = m0 + cm + TM * j;
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
