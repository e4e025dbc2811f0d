// Row-wise normalizations along the last axis: one workgroup of WORKGROUP_SIZE
// invocations per row, shared-memory tree reductions in f32.
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

var<workgroup> part: array<f32, WORKGROUP_SIZE>;

// Tree-combine part[0..WORKGROUP_SIZE] (max when is_max, else sum); every invocation
// gets the result.
fn tree(li: u32, is_max: bool) -> f32 {
    for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            let a = part[li];
            let b = part[li + s];
            part[li] = select(a + b, max(a, b), is_max);
        }
    }
    workgroupBarrier();
    let r = part[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let row = wg.y * nw.x + wg.x;
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
        part[li] = sq;
        let norm = max(sqrt(tree(li, false)), 1e-6);
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
    part[li] = m;
    m = tree(li, true);
    let beta = select(p.beta, 1.0, OP == NORM_LOG_SOFTMAX);
    var sum = 0.0;
    for (var k = li; k < p.depth; k += WORKGROUP_SIZE) {
        sum += exp((f32(x[base + k]) - m) * beta);
    }
    part[li] = sum;
    sum = tree(li, false);
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
