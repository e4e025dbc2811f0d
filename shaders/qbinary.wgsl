// Integer ADD, SUB and MUL of raw 8/16-bit values (one per i32 word) with numpy
// broadcasting up to rank 6, in LiteRT's reference arithmetic.
// OP QBINARY_ADD, QBINARY_SUB: both inputs shifted left by `left_shift` after removing their
// zero points, rescaled by their multipliers to a common scale, added or
// subtracted, and rescaled by the output multiplier.
// OP QBINARY_MUL: the product of the zero-point-free inputs, rescaled by one
// multiplier. Then the output zero point and the clamp to [lo, hi].
// Host side: src/gpu/ops/qelementwise.rs.

override OP: u32 = 0u;

struct Params {
    n: u32,
    left_shift: u32,
    a_zp: i32,
    b_zp: i32,
    // (mantissa, shift) of input a, input b and the output.
    ma: vec2<i32>,
    mb: vec2<i32>,
    mo: vec2<i32>,
    out_zp: i32,
    lo: i32,
    hi: i32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ia = broadcast_offset(i, p.shape, p.a_strides);
    let ib = broadcast_offset(i, p.shape, p.b_strides);
    let x = a[ia] - p.a_zp;
    let y = b[ib] - p.b_zp;
    var raw: i32;
    if (OP == QBINARY_MUL) {
        raw = x * y;
    } else {
        let sx = q_apply(x << p.left_shift, p.ma.x, p.ma.y);
        let sy = q_apply(y << p.left_shift, p.mb.x, p.mb.y);
        raw = select(sx + sy, sx - sy, OP == QBINARY_SUB);
    }
    out[i] = q_requant(raw, p.mo.x, p.mo.y, p.out_zp, p.lo, p.hi);
}
