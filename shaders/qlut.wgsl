// Integer element-wise functions through a table: out = table[x - qmin], where
// the table maps every value of the input's integer type to its quantized result
// (computed at prepare by the CPU interpreter, so it matches it exactly).
// Host side: src/gpu/ops/qunary.rs.

struct Params {
    n: u32,
    qmin: i32,
    size: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let k = u32(clamp(x[i] - p.qmin, 0, i32(p.size) - 1));
    out[i] = table[k];
}
