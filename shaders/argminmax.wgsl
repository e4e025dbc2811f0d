// ARG_MAX / ARG_MIN over the middle axis of an [outer, r, inner] view: one
// workgroup of WORKGROUP_SIZE invocations per output element. Each invocation scans a strided
// slice of the r elements, then a shared-memory tree keeps the best value, the
// lowest index on ties (like the CPU's first-index rule). The index is stored as
// i32 (int64 outputs are held as int32). OP: 0 max, 1 min.

override OP: u32 = 0u;

struct Params {
    // Number of output elements (outer * inner).
    n: u32,
    r: u32,
    inner: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

var<workgroup> best_v: array<f32, WORKGROUP_SIZE>;
var<workgroup> best_i: array<u32, WORKGROUP_SIZE>;

const NONE: u32 = 0xffffffffu;

// Whether (v, i) beats (w, j): a strictly better value, or an equal one at a
// lower index; an empty slot (index NONE) never wins and always loses.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    if (i == NONE) {
        return false;
    }
    if (j == NONE) {
        return true;
    }
    var strictly: bool;
    if (OP == 1u) {
        strictly = v < w;
    } else {
        strictly = v > w;
    }
    return strictly || (v == w && i < j);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let o = wg.y * nw.x + wg.x;
    let live = o < p.n;
    let outer = o / max(p.inner, 1u);
    let inner = o % max(p.inner, 1u);
    let base = outer * p.r * p.inner + inner;
    var v = 0.0;
    var bi = NONE;
    if (live) {
        for (var k = li; k < p.r; k += WORKGROUP_SIZE) {
            let e = f32(x[base + k * p.inner]);
            if (beats(e, k, v, bi)) {
                v = e;
                bi = k;
            }
        }
    }
    best_v[li] = v;
    best_i[li] = bi;
    for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s && beats(best_v[li + s], best_i[li + s], best_v[li], best_i[li])) {
            best_v[li] = best_v[li + s];
            best_i[li] = best_i[li + s];
        }
    }
    if (live && li == 0u) {
        out[o] = i32(select(best_i[0], 0u, best_i[0] == NONE));
    }
}
