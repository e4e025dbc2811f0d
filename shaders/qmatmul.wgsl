// Integer hooks of matmul.wgsl: BATCH_MATMUL of raw int8 values (one per i32
// word), i32 accumulation of (A - a_zp) * (B - b_zp), then LiteRT's fixed-point
// requantization by (mantissa, shift), the output zero point and the clamp to
// [lo, hi]. Host side: src/gpu/ops/qmatmul.rs.

struct Params {
    total: u32,
    m: u32,
    n: u32,
    k: u32,
    a_sm: u32,
    a_sk: u32,
    b_sk: u32,
    b_sn: u32,
    // Column quads: ceil(n / 4).
    nq: u32,
    a_zp: i32,
    b_zp: i32,
    mantissa: i32,
    shift: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
    batch: vec4<u32>,
    a_bs: vec4<u32>,
    b_bs: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;

alias acc_t = i32;

fn load_a(e: u32) -> i32 {
    return a[e] - p.a_zp;
}

fn load_b(e: u32) -> i32 {
    return b[e] - p.b_zp;
}

fn epilogue(acc: i32, c: u32) -> i32 {
    return q_requant(acc, p.mantissa, p.shift, p.out_zp, p.lo, p.hi);
}
