// The prologue of every kernel at fp32: the storage scalar is f32 and the stores
// are plain. Every value a kernel writes to a float buffer goes through
// `to_scalar` (or `to_scalar4` for a vec4 quad); `to_scalar_of(v, m)` is the store
// of fused member m of the dispatch (see prologue_f16.wgsl).
alias scalar = f32;

fn to_scalar(v: f32) -> scalar {
    return v;
}

fn to_scalar_of(v: f32, m: u32) -> scalar {
    return v;
}

fn to_scalar4(v: vec4<f32>) -> vec4<scalar> {
    return v;
}
