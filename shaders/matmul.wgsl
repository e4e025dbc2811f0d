// FULLY_CONNECTED and BATCH_MATMUL: out[bt][m][n] = epilogue(sum_k A[bt][m][k] *
// B[bt][k][n], n). Operands are addressed through strides (a_sm, a_sk, b_sk,
// b_sn), which covers adjoints and FC's [out, in] weights; the batch offsets
// come from the output batch index through per-operand batch strides (0 along
// broadcast dims), batch dims padded to 4 with leading 1s.
//
// Two variants of 64 invocations per workgroup, chosen per node by the
// override constant SPLIT_K (src/gpu/ops/tiling.rs); the entry point comes
// after this body: shaders/matmul_main.wgsl, or on SUBGROUP devices for split
// K shaders/matmul_main_subgroup.wgsl, whose rows variant sums a column quad's
// slices with one subgroupAdd instead of the workgroup-memory tree:
// - tiled GEMM: a workgroup computes TILE_M rows x TILE_Q column quads of one
//   batch, each invocation 4 rows x 4 columns in registers; K advances KT steps
//   at a time through workgroup memory (KT x TILE_M values of A, KT x TILE_Q
//   quads of B, one load of each per invocation and step);
// - rows, for a few rows (a classifier's single row): a workgroup computes
//   SPLIT_Q column quads of one row, its invocations each sum one of SLICES
//   interleaved slices of K (override constants: SLICES = 1, or 16 to split K
//   when the output is too small to fill the GPU, and SPLIT_Q = 64 / SLICES),
//   and the slices' partial sums are reduced in workgroup memory
//   (`split_rows`); the subgroup entry point takes the subgroup's lanes as
//   the slices instead, whatever its size.
// One body for every variant; the prefix in front of it (matmul_float.wgsl,
// qmatmul.wgsl) supplies `Params` (total: the batch count, m, n, k, the
// strides, the column quads `nq` = ceil(n / 4), batch, a_bs, b_bs), the
// bindings `a`, `b` and `out`, and the hooks:
// - `acc_t`: the accumulator's scalar type,
// - `load_a(e) -> acc_t`, `load_b(e) -> acc_t`: operand elements as they enter
//   the products,
// - `epilogue(acc, c)`: the value stored for the sum `acc` of column c.

override SPLIT_K: bool = false;
override SLICES: u32 = 16u;
override SPLIT_Q: u32 = 64u / SLICES;

// The roles of the 64 invocations below assume TILE_M = 32, TILE_Q = 8, KT = 8.
const TILE_M: u32 = 32u;
const TILE_Q: u32 = 8u;
const KT: u32 = 8u;

var<workgroup> at: array<array<acc_t, TILE_M>, KT>;
var<workgroup> bs: array<array<vec4<acc_t>, TILE_Q>, KT>;
var<workgroup> partial: array<vec4<acc_t>, 64>;

// Offsets of batch bt's matrices in A and B.
fn batch_offsets(bt: u32) -> vec2<u32> {
    var rem = bt;
    var o = vec2<u32>();
    for (var d = 3i; d >= 0; d--) {
        let s = p.batch[d];
        let c = rem % s;
        rem = rem / s;
        o += c * vec2<u32>(p.a_bs[d], p.b_bs[d]);
    }
    return o;
}

// The 4 columns from n0 of row k of B (at bo), zeros past the end.
fn b_quad(bo: u32, k: u32, n0: u32) -> vec4<acc_t> {
    var v = vec4<acc_t>();
    let base = bo + k * p.b_sk;
    for (var j = 0u; j < 4u; j++) {
        if (n0 + j < p.n) {
            v[j] = load_b(base + (n0 + j) * p.b_sn);
        }
    }
    return v;
}

fn store_quad(ob: u32, n0: u32, acc: vec4<acc_t>) {
    for (var j = 0u; j < 4u; j++) {
        let c = n0 + j;
        if (c < p.n) {
            out[ob + c] = epilogue(acc[j], c);
        }
    }
}

// The rows variant for workgroup `tile`, slices reduced in workgroup memory.
fn split_rows(tile: u32, li: u32) {
    let tiles_q = (p.nq + SPLIT_Q - 1u) / SPLIT_Q;
    if (tile >= p.total * p.m * tiles_q) {
        return;
    }
    let r = tile / tiles_q;
    let row = r % p.m;
    let off = batch_offsets(r / p.m);
    let n0 = ((tile % tiles_q) * SPLIT_Q + li % SPLIT_Q) * 4u;
    let arow = off.x + row * p.a_sm;
    var acc = vec4<acc_t>();
    if (n0 < p.n) {
        for (var kk = li / SPLIT_Q; kk < p.k; kk += SLICES) {
            acc += load_a(arow + kk * p.a_sk) * b_quad(off.y, kk, n0);
        }
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var span = 32u; span >= SPLIT_Q; span /= 2u) {
        if (li < span) {
            partial[li] += partial[li + span];
        }
        workgroupBarrier();
    }
    if (li < SPLIT_Q && n0 < p.n) {
        store_quad(r * p.n, n0, partial[li]);
    }
}

// The tiled GEMM for workgroup `tile`.
fn tiled(tile: u32, li: u32) {
    let tiles_q = (p.nq + TILE_Q - 1u) / TILE_Q;
    let tiles_m = (p.m + TILE_M - 1u) / TILE_M;
    if (tile >= p.total * tiles_m * tiles_q) {
        return;
    }
    let q0 = (tile % tiles_q) * TILE_Q;
    let r = tile / tiles_q;
    let m0 = (r % tiles_m) * TILE_M;
    let bt = r / tiles_m;
    let off = batch_offsets(bt);
    // A loader: k column lk of the stage, rows lm + 8 * i.
    let lk = li % KT;
    let lm = li / KT;
    // B loader: k row wk, quad wq of the tile.
    let wk = li / TILE_Q;
    let wq = li % TILE_Q;
    // Products: quad cq of the tile, rows cm + 8 * j.
    let cq = li % TILE_Q;
    let cm = li / TILE_Q;
    var acc: array<vec4<acc_t>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        let ka = k0 + lk;
        for (var i = 0u; i < 4u; i++) {
            let row = m0 + lm + 8u * i;
            var v = acc_t();
            if (row < p.m && ka < p.k) {
                v = load_a(off.x + row * p.a_sm + ka * p.a_sk);
            }
            at[lk][lm + 8u * i] = v;
        }
        var bv = vec4<acc_t>();
        if (k0 + wk < p.k && q0 + wq < p.nq) {
            bv = b_quad(off.y, k0 + wk, (q0 + wq) * 4u);
        }
        bs[wk][wq] = bv;
        workgroupBarrier();
        for (var s = 0u; s < KT; s++) {
            let b4 = bs[s][cq];
            for (var j = 0u; j < 4u; j++) {
                acc[j] += at[s][cm + 8u * j] * b4;
            }
        }
        workgroupBarrier();
    }
    let quad = q0 + cq;
    if (quad >= p.nq) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let row = m0 + cm + 8u * j;
        if (row < p.m) {
            store_quad((bt * p.m + row) * p.n, quad * 4u, acc[j]);
        }
    }
}
