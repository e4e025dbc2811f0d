// Element-wise unary functions: out[i] = f(x[i]), then clamp to [act_min, act_max].
// OP selects the function (codes in src/gpu/ops/elementwise.rs). Math runs in f32 and
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
        case 0u: { return abs(v); }
        case 1u: { return -v; }
        case 2u: { return exp(v); }
        case 3u: { return log(v); }
        case 4u: { return sqrt(v); }
        case 5u: { return inverseSqrt(v); }
        case 6u: { return v * v; }
        case 7u: { return sin(v); }
        case 8u: { return cos(v); }
        case 9u: { return floor(v); }
        case 10u: { return ceil(v); }
        case 11u: { return round(v); }
        case 12u: { return sign(v); }
        case 13u: { return 1.0 / (1.0 + exp(-v)); }
        case 14u: { return tanh(clamp(v, -20.0, 20.0)); }
        case 15u: { return v * clamp(v + 3.0, 0.0, 6.0) / 6.0; }
        case 16u: { return select(exp(v) - 1.0, v, v > 0.0); }
        case 17u: { return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); }
        case 18u: {
            let c = 0.7978845608028654 * (v + 0.044715 * v * v * v);
            return 0.5 * v * (1.0 + tanh(clamp(c, -20.0, 20.0)));
        }
        case 19u: { return select(p.alpha * v, v, v >= 0.0); }
        default: { return v; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    let v = apply(f32(x[i]));
    out[i] = to_scalar(clamp(v, p.act_min, p.act_max));
}
