// Entry point of shaders/reduce.wgsl without subgroup operations. With
// PER_INVOCATION each invocation folds one output's whole row (many outputs,
// short rows: no barrier, neighbouring invocations read neighbouring inner
// elements); otherwise each workgroup reduces one output (or one of PARTS
// parts of its row): its invocations fold interleaved slices of the row, a
// workgroup-memory tree combines them.

override PER_INVOCATION: bool = false;

var<workgroup> part: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let g = wg.y * nw.x + wg.x;
    if (PER_INVOCATION) {
        let o = g * WORKGROUP_SIZE + li;
        if (o < p.n) {
            finish(o, fold(o, 0u, 1u));
        }
        return;
    }
    if (g >= p.n * PARTS) {
        return;
    }
    part[li] = fold(g / PARTS, (g % PARTS) * WORKGROUP_SIZE + li, PARTS * WORKGROUP_SIZE);
    for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            part[li] = combine(part[li], part[li + s]);
        }
    }
    if (li == 0u) {
        finish(g, part[0]);
    }
}
