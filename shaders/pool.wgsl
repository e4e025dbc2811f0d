// AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D over NHWC: one invocation per output
// element. The window is clipped to the input; the average (and the L2 pool's mean
// of squares) divides by the number of in-bounds elements. Sums, squares and maxima
// run in f32, then the fused activation clamps.
// MODE: one of the POOL_* constants (from PoolMode in src/gpu/ops/pool.rs).

override MODE: u32 = 0u;

struct Params {
    n: u32,
    ih: u32,
    iw: u32,
    c: u32,
    oh: u32,
    ow: u32,
    fh: u32,
    fw: u32,
    sh: u32,
    sw: u32,
    pt: u32,
    pl: u32,
    act_min: f32,
    act_max: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ch = i % p.c;
    var rem = i / p.c;
    let ox = rem % p.ow;
    rem = rem / p.ow;
    let oy = rem % p.oh;
    let b = rem / p.oh;
    let y = i32(oy * p.sh) - i32(p.pt);
    let xx = i32(ox * p.sw) - i32(p.pl);
    let y0 = u32(max(y, 0));
    let x0 = u32(max(xx, 0));
    let y1 = max(u32(clamp(y + i32(p.fh), 0, i32(p.ih))), y0);
    let x1 = max(u32(clamp(xx + i32(p.fw), 0, i32(p.iw))), x0);
    var sum = 0.0;
    var best = 0.0;
    var first = true;
    for (var iy = y0; iy < y1; iy++) {
        for (var ix = x0; ix < x1; ix++) {
            let v = f32(x[((b * p.ih + iy) * p.iw + ix) * p.c + ch]);
            if (MODE == POOL_L2) {
                sum += v * v;
            } else {
                sum += v;
            }
            if (first || v > best) {
                best = v;
            }
            first = false;
        }
    }
    var r = 0.0;
    if (MODE == POOL_MAX) {
        // An empty window (impossible with SAME/VALID) gives the lower clamp.
        r = select(best, p.act_min, first);
    } else {
        // An empty window divides by 1, as the CPU does.
        let count = max((y1 - y0) * (x1 - x0), 1u);
        r = sum / f32(count);
        if (MODE == POOL_L2) {
            r = sqrt(r);
        }
    }
    out[i] = to_scalar(clamp(r, p.act_min, p.act_max));
}
