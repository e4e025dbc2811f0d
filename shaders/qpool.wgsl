// Integer AVERAGE_POOL_2D and MAX_POOL_2D over NHWC raw 8/16-bit values (one per
// i32 word), one invocation per output element. Average: the window sum over its
// in-bounds part divided by the count, rounded half away from zero (LiteRT's
// reference); max: the largest value. Then the clamp to [lo, hi].
// OP 0 average, 1 max. Host side: src/gpu/ops/qpool.rs.

override OP: u32 = 0u;

struct Params {
    total: u32,
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
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.total) {
        return;
    }
    let ch = i % p.c;
    let pix = i / p.c;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let y0 = max(i32(oy * p.sh) - i32(p.pt), 0);
    let y1 = max(min(i32(oy * p.sh + p.fh) - i32(p.pt), i32(p.ih)), y0);
    let x0 = max(i32(ox * p.sw) - i32(p.pl), 0);
    let x1 = max(min(i32(ox * p.sw + p.fw) - i32(p.pl), i32(p.iw)), x0);
    var sum = 0;
    var best = bitcast<i32>(0x80000000u);
    for (var iy = y0; iy < y1; iy++) {
        for (var ix = x0; ix < x1; ix++) {
            let v = x[((b * p.ih + u32(iy)) * p.iw + u32(ix)) * p.c + ch];
            sum += v;
            best = max(best, v);
        }
    }
    var r = best;
    if (OP == 0u) {
        let n = max((y1 - y0) * (x1 - x0), 1);
        r = select((sum - n / 2) / n, (sum + n / 2) / n, sum > 0);
    }
    out[i] = clamp(r, p.lo, p.hi);
}
