// Integer BATCH_MATMUL of raw int8 values (one per i32 word):
// out[bt][m][n] = requant(sum_k (A[bt][m][k] - a_zp) * (B[bt][k][n] - b_zp)),
// operands addressed through strides (adjoints) and per-operand batch strides
// (0 along broadcast dims, batch dims padded to 4 with leading 1s), as in
// shaders/matmul.wgsl. One invocation per output element; i32 accumulation and
// LiteRT's fixed-point requantization. Host side: src/gpu/ops/qmatmul.rs.

struct Params {
    total: u32,
    m: u32,
    n: u32,
    k: u32,
    a_sm: u32,
    a_sk: u32,
    b_sk: u32,
    b_sn: u32,
    a_zp: i32,
    b_zp: i32,
    mantissa: i32,
    shift: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
    _pad: u32,
    batch: vec4<u32>,
    a_bs: vec4<u32>,
    b_bs: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.total) {
        return;
    }
    let col = i % p.n;
    let r = i / p.n;
    let row = r % p.m;
    var rem = r / p.m;
    var ao = 0u;
    var bo = 0u;
    for (var d = 3i; d >= 0; d--) {
        let s = p.batch[d];
        let c = rem % s;
        rem = rem / s;
        ao += c * p.a_bs[d];
        bo += c * p.b_bs[d];
    }
    let arow = ao + row * p.a_sm;
    let bcol = bo + col * p.b_sn;
    var acc = 0;
    for (var kk = 0u; kk < p.k; kk++) {
        acc += (a[arow + kk * p.a_sk] - p.a_zp) * (b[bcol + kk * p.b_sk] - p.b_zp);
    }
    out[i] = q_requant(acc, p.mantissa, p.shift, p.out_zp, p.lo, p.hi);
}
