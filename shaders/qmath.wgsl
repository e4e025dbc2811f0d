// LiteRT's fixed-point integer arithmetic in 32-bit pieces (WGSL has no i64),
// prepended to every integer kernel. A 64-bit value is vec2<u32>(low, high) in
// two's complement. Host side: src/cpu/quant.rs holds the same functions in i64.

// The exact 64-bit product of two i32 values, from 16-bit partial products.
fn q_mul_wide(a: i32, b: i32) -> vec2<u32> {
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    let a0 = ua & 0xffffu;
    let a1 = ua >> 16u;
    let b0 = ub & 0xffffu;
    let b1 = ub >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let lo = (p00 & 0xffffu) | (mid << 16u);
    var hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    // Signed correction of the unsigned product.
    if (a < 0) {
        hi -= ub;
    }
    if (b < 0) {
        hi -= ua;
    }
    return vec2<u32>(lo, hi);
}

fn q_add_wide(x: vec2<u32>, y: vec2<u32>) -> vec2<u32> {
    let lo = x.x + y.x;
    return vec2<u32>(lo, x.y + y.y + select(0u, 1u, lo < x.x));
}

// SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b, rounded half
// away from zero, with the single overflow case (MIN * MIN) saturated.
fn q_high_mul(a: i32, b: i32) -> i32 {
    let min_i32 = bitcast<i32>(0x80000000u);
    if (a == min_i32 && b == min_i32) {
        return 2147483647;
    }
    let ab = q_mul_wide(a, b);
    // Nudge 2^30 for a non-negative product, 1 - 2^30 for a negative one.
    let nudge = select(vec2<u32>(0x40000000u, 0u), vec2<u32>(0xc0000001u, 0xffffffffu),
                       bitcast<i32>(ab.y) < 0);
    var v = q_add_wide(ab, nudge);
    // Division by 2^31 truncating toward zero.
    if (bitcast<i32>(v.y) < 0) {
        v = q_add_wide(v, vec2<u32>(0x7fffffffu, 0u));
    }
    return bitcast<i32>((v.y << 1u) | (v.x >> 31u));
}

// x / 2^e rounded to nearest, ties away from zero (RoundingDivideByPOT).
fn q_div_pot(x: i32, e: i32) -> i32 {
    if (e <= 0) {
        return x;
    }
    let s = u32(min(e, 31));
    let mask = bitcast<i32>((1u << s) - 1u);
    let rem = x & mask;
    let threshold = (mask >> 1u) + select(0, 1, x < 0);
    return (x >> s) + select(0, 1, rem > threshold);
}

// MultiplyByQuantizedMultiplier: x * mantissa * 2^shift with LiteRT's roundings.
fn q_apply(x: i32, mantissa: i32, shift: i32) -> i32 {
    let left = u32(clamp(shift, 0, 31));
    return q_div_pot(q_high_mul(x << left, mantissa), -shift);
}

// Requantize an accumulator: multiplier, output zero point, clamp [lo, hi]
// (clamp(q + zp, lo, hi) computed as clamp(q, lo - zp, hi - zp) + zp).
fn q_requant(acc: i32, mantissa: i32, shift: i32, zp: i32, lo: i32, hi: i32) -> i32 {
    return clamp(q_apply(acc, mantissa, shift), lo - zp, hi - zp) + zp;
}

// Round half away from zero (LiteRT's TfLiteRound), exact for every f32.
fn q_round(v: f32) -> f32 {
    let t = trunc(v);
    return select(t, t + sign(v), abs(v - t) >= 0.5);
}

// Quantize a real value: round(v / scale) + zp clamped to [lo, hi]; NaN gives zp.
fn q_quantize(v: f32, scale: f32, zp: i32, lo: i32, hi: i32) -> i32 {
    let r = q_round(v / scale);
    if (r != r) {
        return clamp(zp, lo, hi);
    }
    let c = clamp(r, -1.0e9, 1.0e9);
    return clamp(i32(c) + zp, lo, hi);
}
