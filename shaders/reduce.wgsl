// Reductions over the middle axis of an [outer, r, inner] view, f32 accumulation.
// This part holds what every variant shares; the entry point comes after it:
// - shaders/reduce_workgroup.wgsl: one invocation per output (PER_INVOCATION), or
//   one workgroup per output combined with a workgroup-memory tree;
// - shaders/reduce_subgroup.wgsl: one workgroup per output combined with
//   subgroup operations (SUBGROUP devices).
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

fn combine(a: f32, b: f32) -> f32 {
    switch OP {
        case REDUCE_MAX: { return max(a, b); }
        case REDUCE_MIN: { return min(a, b); }
        case REDUCE_PROD: { return a * b; }
        default: { return a + b; }
    }
}

// The reduction of elements first, first + step, ... of output o's row.
fn fold(o: u32, first: u32, step: u32) -> f32 {
    let outer = o / p.inner;
    let inner = o % p.inner;
    let base = outer * p.r * p.inner + inner;
    var acc = p.ident;
    for (var k = first; k < p.r; k += step) {
        acc = combine(acc, f32(x[base + k * p.inner]));
    }
    return acc;
}

// Store output o from the reduction v of its row (divided by r for MEAN).
fn finish(o: u32, v: f32) {
    var y = v;
    if (OP == REDUCE_MEAN) {
        y = y / f32(max(p.r, 1u));
    }
    out[o] = to_scalar(y);
}
