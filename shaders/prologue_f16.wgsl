enable f16;
// The prologue of every kernel at fp16: the storage scalar is f16 and every
// value a kernel writes to a float buffer (or rounds to storage precision in
// registers, as a fused chain does between its members) goes through the one
// guarded store, `to_scalar_of(v, m)`: it saturates finite values at +-65504, so
// nothing the CPU computes as finite becomes infinite on the GPU (true
// infinities and NaN pass through), and calls `guard_flag(m)` when a value
// leaves the f16 range (|v| > 65504 or not finite). Member m is 0 for the node
// that dispatches, 1 for the 1x1 convolution of a fused depthwise + 1x1 kernel,
// 2 and 3 for the element-wise steps of a fused epilogue. `guard_flag` comes
// from guard_off.wgsl (nothing) or guard_on.wgsl (the overflow guard: sets the
// member's bit in the flag buffer). A unit test checks with naga that no kernel
// writes an f16 value to storage or narrows f32 to f16 any other way.
alias scalar = f16;

fn to_scalar_of(v: f32, m: u32) -> scalar {
    if (abs(v) <= 65504.0) {
        return scalar(v);
    }
    guard_flag(m);
    if (abs(v) > 3.0e38 || v != v) {
        return scalar(v);
    }
    return scalar(clamp(v, -65504.0, 65504.0));
}

fn to_scalar(v: f32) -> scalar {
    return to_scalar_of(v, 0u);
}

fn to_scalar4(v: vec4<f32>) -> vec4<scalar> {
    return vec4<scalar>(to_scalar(v.x), to_scalar(v.y), to_scalar(v.z), to_scalar(v.w));
}
