// CAST from float to a 4-byte word: OP 0 int32 (truncating toward zero, like C's
// static_cast; int64 outputs are held as int32), OP 1 bool (x != 0 as u32 0/1).

override OP: u32 = 0u;

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let v = f32(x[i]);
    if (OP == 1u) {
        out[i] = select(0u, 1u, v != 0.0);
    } else {
        out[i] = bitcast<u32>(i32(v));
    }
}
