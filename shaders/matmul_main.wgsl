// Entry point of shaders/matmul.wgsl: the rows variant with its slices reduced
// in workgroup memory (SPLIT_K), or the tiled GEMM.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let tile = wg.y * nw.x + wg.x;
    if (SPLIT_K) {
        split_rows(tile, li);
    } else {
        tiled(tile, li);
    }
}
