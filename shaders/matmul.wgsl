// FULLY_CONNECTED and BATCH_MATMUL: out[bt][m][n] = sum_k A[bt][m][k] * B[bt][k][n]
// + bias[n], clamped (fused activation). Operands are addressed through strides
// (a_sm, a_sk, b_sk, b_sn), which covers adjoints and FC's [out, in] weights; the
// batch offsets come from the output batch index through per-operand batch
// strides (0 along broadcast dims), batch dims padded to 4 with leading 1s.
// Each invocation computes 4 consecutive columns of one row in f32.

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
    act_min: f32,
    act_max: f32,
    _pad: u32,
    batch: vec4<u32>,
    a_bs: vec4<u32>,
    b_bs: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<scalar>;
@group(0) @binding(2) var<storage, read> b: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.total) {
        return;
    }
    let q = i % p.nq;
    let r = i / p.nq;
    let row = r % p.m;
    let bt = r / p.m;
    var rem = bt;
    var ao = 0u;
    var bo = 0u;
    for (var d = 3i; d >= 0; d--) {
        let s = p.batch[d];
        let c = rem % s;
        rem = rem / s;
        ao += c * p.a_bs[d];
        bo += c * p.b_bs[d];
    }
    let n0 = q * 4u;
    let last = p.n - 1u;
    // Columns past the end repeat the last one; they are not stored.
    let c0 = min(n0, last) * p.b_sn;
    let c1 = min(n0 + 1u, last) * p.b_sn;
    let c2 = min(n0 + 2u, last) * p.b_sn;
    let c3 = min(n0 + 3u, last) * p.b_sn;
    let arow = ao + row * p.a_sm;
    var acc = vec4<f32>(0.0);
    for (var kk = 0u; kk < p.k; kk++) {
        let av = f32(a[arow + kk * p.a_sk]);
        let bb = bo + kk * p.b_sk;
        let bv = vec4<f32>(f32(b[bb + c0]), f32(b[bb + c1]), f32(b[bb + c2]), f32(b[bb + c3]));
        acc += av * bv;
    }
    let ob = (bt * p.m + row) * p.n;
    for (var j = 0u; j < 4u; j++) {
        let c = n0 + j;
        if (c < p.n) {
            out[ob + c] = to_scalar(clamp(acc[j] + bias[c], p.act_min, p.act_max));
        }
    }
}
