// Element hook of copy.wgsl for integer tensors (int32, and the raw values of
// quantized ones, exact through f32): `elem` is i32.

alias elem = i32;
fn to_elem(v: f32) -> elem { return i32(v); }
