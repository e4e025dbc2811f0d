// Input of shaders/reduce.wgsl: the tensor, in storage precision.
@group(0) @binding(1) var<storage, read> x: array<scalar>;

fn load(e: u32) -> f32 {
    return f32(x[e]);
}
