// CAST between 4-byte words: OP 0 copies (int32 <-> int64 held as int32, bool 0/1
// to int), OP 1 converts to bool (x != 0 as u32 0/1).

override OP: u32 = 0u;

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    if (OP == 1u) {
        out[i] = select(0u, 1u, x[i] != 0u);
    } else {
        out[i] = x[i];
    }
}
