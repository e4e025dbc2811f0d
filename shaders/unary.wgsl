// Element-wise unary functions: out[i] = f(x[i]), then clamp to [act_min, act_max].
// OP selects the function (the UNARY_* constants, generated from UnaryOp in
// src/gpu/ops/elementwise.rs and put in front of this file). Math runs in f32 and
// is stored in `scalar` (f32 or f16, from the prelude).

override OP: u32 = 0u;

struct Params {
    n: u32,
    alpha: f32,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

fn erf_approx(v: f32) -> f32 {
    // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7.
    let s = sign(v);
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return s * y;
}

fn apply(v: f32) -> f32 {
    switch OP {
        case UNARY_ABS: { return abs(v); }
        case UNARY_NEG: { return -v; }
        case UNARY_EXP: { return exp(v); }
        case UNARY_LOG: { return log(v); }
        case UNARY_SQRT: { return sqrt(v); }
        case UNARY_RSQRT: { return inverseSqrt(v); }
        case UNARY_SQUARE: { return v * v; }
        case UNARY_SIN: { return sin(v); }
        case UNARY_COS: { return cos(v); }
        case UNARY_FLOOR: { return floor(v); }
        case UNARY_CEIL: { return ceil(v); }
        case UNARY_ROUND: { return round(v); }
        case UNARY_SIGN: { return sign(v); }
        case UNARY_LOGISTIC: { return 1.0 / (1.0 + exp(-v)); }
        case UNARY_TANH: { return tanh(clamp(v, -20.0, 20.0)); }
        case UNARY_HARD_SWISH: { return v * clamp(v + 3.0, 0.0, 6.0) / 6.0; }
        case UNARY_ELU: { return select(exp(v) - 1.0, v, v > 0.0); }
        case UNARY_GELU: { return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); }
        case UNARY_GELU_TANH: {
            let c = 0.7978845608028654 * (v + 0.044715 * v * v * v);
            return 0.5 * v * (1.0 + tanh(clamp(c, -20.0, 20.0)));
        }
        case UNARY_LEAKY_RELU: { return select(p.alpha * v, v, v >= 0.0); }
        default: { return v; }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let v = apply(f32(x[i]));
    out[i] = to_scalar(clamp(v, p.act_min, p.act_max));
}
