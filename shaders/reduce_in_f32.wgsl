// Input of shaders/reduce.wgsl: f32 partial results of a first dispatch.
@group(0) @binding(1) var<storage, read> x: array<f32>;

fn load(e: u32) -> f32 {
    return x[e];
}
