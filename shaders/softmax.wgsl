// Row-wise normalizations along the last axis: one workgroup of WORKGROUP_SIZE
// invocations per row, reductions in f32 (subgroup operations when the device
// has them, a workgroup-memory tree otherwise).
// OP (constants from NormOp in src/gpu/ops/normalize.rs): NORM_SOFTMAX
// (exp((x - max) * beta) / sum), NORM_LOG_SOFTMAX (x - max - log(sum(exp(x - max)))),
// NORM_L2 (x / max(|x|, 1e-6)),
// each followed by the clamp [act_min, act_max].

override OP: u32 = 0u;

struct Params {
    rows: u32,
    depth: u32,
    beta: f32,
    // -inf, the identity of max.
    neg_inf: f32,
    act_min: f32,
    act_max: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

// The row's reduction `reduce(v, li, is_max)` (every invocation gets the max or
// the sum of all invocations' v) and the entry point, which calls `run` with
// the workgroup's row, come from the variant after this file:
// shaders/row_reduce_workgroup.wgsl or shaders/row_reduce_subgroup.wgsl.
fn run(row: u32, li: u32) {
    if (row >= p.rows) {
        return;
    }
    let base = row * p.depth;
    if (OP == NORM_L2) {
        var sq = 0.0;
        for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
            let v = f32(x[base + k]);
            sq += v * v;
        }
        let norm = max(sqrt(reduce(sq, li, false)), 1e-6);
        for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
            let v = f32(x[base + k]) / norm;
            out[base + k] = to_scalar(clamp(v, p.act_min, p.act_max));
        }
        return;
    }
    var m = p.neg_inf;
    for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
        m = max(m, f32(x[base + k]));
    }
    m = reduce(m, li, true);
    let beta = select(p.beta, 1.0, OP == NORM_LOG_SOFTMAX);
    var sum = 0.0;
    for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
        sum += exp((f32(x[base + k]) - m) * beta);
    }
    sum = reduce(sum, li, false);
    if (OP == NORM_LOG_SOFTMAX) {
        let log_sum = log(sum);
        for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
            let v = f32(x[base + k]) - m - log_sum;
            out[base + k] = to_scalar(clamp(v, p.act_min, p.act_max));
        }
    } else {
        for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
            let v = exp((f32(x[base + k]) - m) * beta) / sum;
            out[base + k] = to_scalar(clamp(v, p.act_min, p.act_max));
        }
    }
}
