// FULLY_CONNECTED and BATCH_MATMUL: out[bt][m][n] = epilogue(sum_k A[bt][m][k] *
// B[bt][k][n], n). Operands are addressed through strides (a_sm, a_sk, b_sk,
// b_sn), which covers adjoints and FC's [out, in] weights; the batch offsets
// come from the output batch index through per-operand batch strides (0 along
// broadcast dims), batch dims padded to 4 with leading 1s. Each invocation
// accumulates 4 consecutive columns of one row.
// One body for every variant; the prefix in front of it (matmul_float.wgsl,
// qmatmul.wgsl) supplies `Params` (total, m, n, k, the strides, the column
// quads `nq` = ceil(n / 4), batch, a_bs, b_bs), the bindings `a`, `b` and `out`,
// and the hooks:
// - `acc_t`: the accumulator's scalar type,
// - `load_a(e) -> acc_t`, `load_b(e) -> acc_t`: operand elements as they enter
//   the products,
// - `epilogue(acc, c)`: the value stored for the sum `acc` of column c.

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
    var acc = vec4<acc_t>();
    for (var kk = 0u; kk < p.k; kk++) {
        let av = load_a(arow + kk * p.a_sk);
        let bb = bo + kk * p.b_sk;
        let bv = vec4<acc_t>(load_b(bb + c0), load_b(bb + c1), load_b(bb + c2), load_b(bb + c3));
        acc += av * bv;
    }
    let ob = (bt * p.m + row) * p.n;
    for (var j = 0u; j < 4u; j++) {
        let c = n0 + j;
        if (c < p.n) {
            out[ob + c] = epilogue(acc[j], c);
        }
    }
}
