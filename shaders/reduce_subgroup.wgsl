// Entry point of shaders/reduce.wgsl with subgroup operations (SUBGROUP
// devices): each workgroup reduces one output (or one of PARTS parts of its
// row); its invocations fold
// interleaved slices of the row, each subgroup combines its lanes with one
// subgroup operation, and the first invocation combines the num_subgroups
// results from workgroup memory: one barrier, for any subgroup size (8 on
// lavapipe, 32 or 64 on GPUs).

var<workgroup> part: array<f32, WORKGROUP_SIZE>;

// The reduction of v over the invocations of this subgroup.
fn subgroup_combine(v: f32) -> f32 {
    switch OP {
        case REDUCE_MAX: { return subgroupMax(v); }
        case REDUCE_MIN: { return subgroupMin(v); }
        case REDUCE_PROD: { return subgroupMul(v); }
        default: { return subgroupAdd(v); }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sid: u32,
        @builtin(num_subgroups) ns: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let g = wg.y * nw.x + wg.x;
    if (g >= p.n * PARTS) {
        return;
    }
    let first = (g % PARTS) * WORKGROUP_SIZE + li;
    let v = subgroup_combine(fold(g / PARTS, first, PARTS * WORKGROUP_SIZE));
    if (lane == 0u) {
        part[sid] = v;
    }
    workgroupBarrier();
    if (li == 0u) {
        var t = part[0];
        for (var i = 1u; i < ns; i++) {
            t = combine(t, part[i]);
        }
        finish(g, t);
    }
}
