// Reductions over the middle axis of an [outer, r, inner] view: one workgroup of
// WORKGROUP_SIZE invocations per output element. Each invocation folds a strided
// slice of the r elements in f32, then a shared-memory tree combines the partials.
// OP: one of the REDUCE_* constants (from ReduceOp in src/gpu/ops/reduce.rs).

override OP: u32 = 0u;

struct Params {
    // Number of output elements (outer * inner).
    n: u32,
    r: u32,
    inner: u32,
    // The identity of the reduction (0, 1, -inf or +inf).
    ident: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

var<workgroup> part: array<f32, WORKGROUP_SIZE>;

fn combine(a: f32, b: f32) -> f32 {
    switch OP {
        case REDUCE_MAX: { return max(a, b); }
        case REDUCE_MIN: { return min(a, b); }
        case REDUCE_PROD: { return a * b; }
        default: { return a + b; }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let o = wg.y * nw.x + wg.x;
    if (o >= p.n) {
        return;
    }
    let outer = o / p.inner;
    let inner = o % p.inner;
    let base = outer * p.r * p.inner + inner;
    var acc = p.ident;
    for (var k = li; k < p.r; k += WORKGROUP_SIZE) {
        acc = combine(acc, f32(x[base + k * p.inner]));
    }
    part[li] = acc;
    for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            part[li] = combine(part[li], part[li + s]);
        }
    }
    if (li == 0u) {
        var v = part[0];
        if (OP == REDUCE_MEAN) {
            v = v / f32(max(p.r, 1u));
        }
        out[o] = to_scalar(v);
    }
}
