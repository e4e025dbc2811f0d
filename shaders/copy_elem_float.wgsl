// Element hook of copy.wgsl for float tensors: `elem` is the storage scalar,
// and `to_elem` stores through the guarded store of the prologue.

alias elem = scalar;
fn to_elem(v: f32) -> elem { return to_scalar(v); }
