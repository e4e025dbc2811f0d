// Reductions over the middle axis of an [outer, r, inner] view, f32 accumulation.
// This part holds what every variant shares; in front of the entry point come
// the input binding and `load` (shaders/reduce_in.wgsl: the tensor; or
// reduce_in_f32.wgsl: f32 partial results) and the output binding and
// `finish` (reduce_out.wgsl: the tensor; or reduce_out_f32.wgsl: partials).
// Entry points:
// - shaders/reduce_workgroup.wgsl: one invocation per output (PER_INVOCATION), or
//   one workgroup per output (or per PARTS-th of a row) combined with a
//   workgroup-memory tree;
// - shaders/reduce_subgroup.wgsl: the same workgroups combined with subgroup
//   operations (SUBGROUP devices).
// With PARTS > 1, workgroup g reduces part g % PARTS of row g / PARTS into
// partial g, and a second dispatch folds each row's PARTS partials.
// OP: one of the REDUCE_* constants (from ReduceOp in src/gpu/ops/reduce.rs).

override OP: u32 = 0u;
override PARTS: u32 = 1u;

struct Params {
    // Number of rows (outer * inner).
    n: u32,
    r: u32,
    inner: u32,
    // The identity of the reduction (0, 1, -inf or +inf).
    ident: f32,
    // What MEAN divides by: the elements of a row of the tensor.
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn combine(a: f32, b: f32) -> f32 {
    switch OP {
        case REDUCE_MAX: { return max(a, b); }
        case REDUCE_MIN: { return min(a, b); }
        case REDUCE_PROD: { return a * b; }
        default: { return a + b; }
    }
}

// The reduction of elements first, first + step, ... of row o.
fn fold(o: u32, first: u32, step: u32) -> f32 {
    let outer = o / p.inner;
    let inner = o % p.inner;
    let base = outer * p.r * p.inner + inner;
    var acc = p.ident;
    for (var k = first; k < p.r; k += step) {
        acc = combine(acc, load(base + k * p.inner));
    }
    return acc;
}
