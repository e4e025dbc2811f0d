// A fused epilogue: up to two element-wise steps applied, in order, to a
// producer's clamped result v for output element o of channel c. Each step
// maps v (a unary step) or combines it with an operand (binding `e0` for step 0,
// `e1` for step 1), rounds to storage (so the fused chain equals the separate
// ops) and clamps with the step's activation. Host side: src/gpu/ops/epilogue.rs.
// The including kernel's `Params` has a member `e: Epilogue` and binds
// `e0` and `e1`.

// Step ops (EP_OP_*) and operand kinds (EP_KIND_*) are generated selectors.
// The chain's shape is override constants, part of the pipeline's key, so a
// driver compiles only the steps a node applies: no per-element branches over
// ops it does not use. Whether the source operand is pooled is a uniform
// (`pool`): every invocation takes that branch alike, and a pipeline of its own
// would cost a compile.
override EP_STEPS: u32 = 0u;
override EP_OP0: u32 = 0u;
override EP_KIND0: u32 = 0u;
override EP_OP1: u32 = 0u;
override EP_KIND1: u32 = 0u;

struct Epilogue {
    // Output dims (NHWC) of the producer.
    oh: u32,
    ow: u32,
    oc: u32,
    // Source operand: dims of the tensor read with index math.
    sh: u32,
    sw: u32,
    sc: u32,
    // Clamps of the two steps.
    min0: f32,
    max0: f32,
    min1: f32,
    max1: f32,
    // The source operand's pooling window: 2 for the max of 2x2 stride-2
    // windows (a MAX_POOL_2D), 0 or 1 for the element itself.
    pool: u32,
    _pad0: u32,
}

// Element (b, y, x) of the source operand in its own layout, channel c.
fn ep_src_index(b: u32, y: u32, x: u32, c: u32) -> u32 {
    return ((b * p.e.sh + y) * p.e.sw + x) * p.e.sc + c;
}

// Output pixel coordinates (b, y, x) of output element o.
fn ep_coords(o: u32) -> vec3<u32> {
    let pix = o / p.e.oc;
    let x = pix % p.e.ow;
    let t = pix / p.e.ow;
    return vec3<u32>(t / p.e.oh, t % p.e.oh, x);
}

fn ep_operand0(kind: u32, o: u32, c: u32) -> f32 {
    switch kind {
        case EP_KIND_SAME: { return f32(e0[o]); }
        case EP_KIND_CHANNEL: { return f32(e0[c]); }
        case EP_KIND_SCALAR: { return f32(e0[0]); }
        case EP_KIND_NONE: { return 0.0; }
        default: {
            // EP_KIND_SOURCE: zero channels past the source's (a channel PAD),
            // optionally the max of a 2x2 stride-2 window (a MAX_POOL_2D).
            if (c >= p.e.sc) {
                return 0.0;
            }
            let q = ep_coords(o);
            let win = p.e.pool;
            if (win <= 1u) {
                return f32(e0[ep_src_index(q.x, q.y, q.z, c)]);
            }
            var m = -3.4028235e38;
            for (var dy = 0u; dy < win; dy++) {
                for (var dx = 0u; dx < win; dx++) {
                    let y = q.y * win + dy;
                    let x = q.z * win + dx;
                    if (y < p.e.sh && x < p.e.sw) {
                        m = max(m, f32(e0[ep_src_index(q.x, y, x, c)]));
                    }
                }
            }
            return m;
        }
    }
}

fn ep_operand1(kind: u32, o: u32, c: u32) -> f32 {
    switch kind {
        case EP_KIND_CHANNEL: { return f32(e1[c]); }
        case EP_KIND_SCALAR: { return f32(e1[0]); }
        case EP_KIND_NONE: { return 0.0; }
        default: { return f32(e1[o]); }
    }
}

fn ep_step(op: u32, v: f32, r: f32, lo: f32, hi: f32) -> f32 {
    var y: f32;
    switch op {
        case EP_OP_ADD: { y = v + r; }
        case EP_OP_SUB: { y = v - r; }
        case EP_OP_RSUB: { y = r - v; }
        case EP_OP_MUL: { y = v * r; }
        case EP_OP_PRELU: { y = select(v * r, v, v >= 0.0); }
        // Unary steps: the formulas of unary.wgsl.
        case EP_OP_LOGISTIC: { y = 1.0 / (1.0 + exp(-v)); }
        case EP_OP_TANH: { y = tanh(clamp(v, -20.0, 20.0)); }
        case EP_OP_HARD_SWISH: { y = v * clamp(v + 3.0, 0.0, 6.0) / 6.0; }
        case EP_OP_ELU: { y = select(exp(v) - 1.0, v, v > 0.0); }
        default: { y = v; }
    }
    return clamp(y, lo, hi);
}

// The store of the producer's clamped result v0 for output element o of
// channel c after the fused steps. Each step's input is rounded to storage
// first, as the separate op would read it, through the guarded store of the
// member that computed it: `producer` (0 for the dispatching node, 1 for the
// 1x1 half of dw_pointwise.wgsl), then step k's node is member k + 2 (see
// shaders/prologue_f16.wgsl), so an overflow flags the node whose value left the
// f16 range, as the separate ops would.
fn ep_store(v0: f32, c: u32, o: u32, producer: u32) -> scalar {
    var v = v0;
    var m = producer;
    if (EP_STEPS > 0u) {
        v = f32(to_scalar_of(v, m));
        v = ep_step(EP_OP0, v, ep_operand0(EP_KIND0, o, c), p.e.min0, p.e.max0);
        m = 2u;
    }
    if (EP_STEPS > 1u) {
        v = f32(to_scalar_of(v, m));
        v = ep_step(EP_OP1, v, ep_operand1(EP_KIND1, o, c), p.e.min1, p.e.max1);
        m = 3u;
    }
    return to_scalar_of(v, m);
}
