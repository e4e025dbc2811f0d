// Integer MEAN and SUM over the middle axis of an [outer, r, inner] view of raw
// 8/16-bit values (one per i32 word), one invocation per output element: the i32
// sum minus in_zp * r, requantized with a multiplier that already holds the
// division by r (LiteRT's QuantizedMeanOrSum), plus out_zp, clamped to [lo, hi].
// Host side: src/gpu/ops/qpool.rs.

struct Params {
    n: u32,
    r: u32,
    inner: u32,
    offset: i32,
    mantissa: i32,
    shift: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let o = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (o >= p.n) {
        return;
    }
    let base = (o / p.inner) * p.r * p.inner + o % p.inner;
    var sum = 0;
    for (var k = 0u; k < p.r; k++) {
        sum += x[base + k * p.inner];
    }
    out[o] = q_requant(sum - p.offset, p.mantissa, p.shift, p.out_zp, p.lo, p.hi);
}
