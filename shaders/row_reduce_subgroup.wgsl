// Subgroup row reduction and entry point (SUBGROUP devices) for kernels that
// give each workgroup one row (shaders/softmax.wgsl): `reduce(v, li, is_max)`
// combines each subgroup's values with subgroupAdd / subgroupMax, then the
// num_subgroups partial results through workgroup memory: two barriers
// instead of a tree's log2(WORKGROUP_SIZE) + 1, for any subgroup size (8 on
// lavapipe, 32 or 64 on GPUs). `main` runs `run(row, li)` for the
// workgroup's row.

var<workgroup> part: array<f32, WORKGROUP_SIZE>;
var<private> sg_id: u32;
var<private> sg_count: u32;
var<private> sg_lane: u32;

// The max (is_max) or sum of every invocation's v; every invocation gets it.
fn reduce(v: f32, li: u32, is_max: bool) -> f32 {
    let r = select(subgroupAdd(v), subgroupMax(v), is_max);
    workgroupBarrier();
    if (sg_lane == 0u) {
        part[sg_id] = r;
    }
    workgroupBarrier();
    var t = part[0];
    for (var i = 1u; i < sg_count; i++) {
        t = select(t + part[i], max(t, part[i]), is_max);
    }
    return t;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sid: u32,
        @builtin(num_subgroups) ns: u32, @builtin(subgroup_invocation_id) lane: u32) {
    sg_id = sid;
    sg_count = ns;
    sg_lane = lane;
    run(wg.y * nw.x + wg.x, li);
}
