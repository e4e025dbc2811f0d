// Workgroup-memory row reduction and entry point for kernels that give each
// workgroup one row (shaders/softmax.wgsl): `reduce(v, li, is_max)` combines
// the WORKGROUP_SIZE invocations' values with a tree in workgroup memory;
// `main` runs `run(row, li)` for the workgroup's row.

var<workgroup> part: array<f32, WORKGROUP_SIZE>;

// The max (is_max) or sum of every invocation's v; every invocation gets it.
fn reduce(v: f32, li: u32, is_max: bool) -> f32 {
    workgroupBarrier();
    part[li] = v;
    for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            let a = part[li];
            let b = part[li + s];
            part[li] = select(a + b, max(a, b), is_max);
        }
    }
    workgroupBarrier();
    return part[0];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    run(wg.y * nw.x + wg.x, li);
}
