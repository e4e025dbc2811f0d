// Entry point of shaders/matmul.wgsl on SUBGROUP devices for split K: in the
// rows variant (SPLIT_K) each subgroup computes column quads q = subgroup_id,
// q + num_subgroups, ... < SPLIT_Q of the workgroup's SPLIT_Q, its lanes the
// slices of K (as many as the subgroup has lanes, whatever the device runs:
// 8 on lavapipe, 32 or 64 on GPUs), and one subgroupAdd sums a quad's
// slices: no workgroup memory and no barrier. Without SPLIT_K, the tiled GEMM.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sid: u32,
        @builtin(num_subgroups) ns: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let tile = wg.y * nw.x + wg.x;
    if (!SPLIT_K) {
        tiled(tile, li);
        return;
    }
    let tiles_q = (p.nq + SPLIT_Q - 1u) / SPLIT_Q;
    if (tile >= p.total * p.m * tiles_q) {
        return;
    }
    let r = tile / tiles_q;
    let off = batch_offsets(r / p.m);
    let arow = off.x + (r % p.m) * p.a_sm;
    // Lanes per subgroup: the subgroup size, or the workgroup size when a
    // subgroup is wider than the workgroup.
    let lanes = WORKGROUP_SIZE / ns;
    // q and n0 are the same on every lane of a subgroup: the subgroupAdd
    // below runs on whole subgroups.
    for (var q = sid; q < SPLIT_Q; q += ns) {
        let n0 = ((tile % tiles_q) * SPLIT_Q + q) * 4u;
        if (n0 >= p.n) {
            break;
        }
        var acc = vec4<acc_t>();
        for (var kk = lane; kk < p.k; kk += lanes) {
            acc += load_a(arow + kk * p.a_sk) * b_quad(off.y, kk, n0);
        }
        let sum = subgroupAdd(acc);
        if (lane == 0u) {
            store_quad(r * p.n, n0, sum);
        }
    }
}
