// Output of shaders/reduce.wgsl: f32 partial results, one per workgroup, for a
// second dispatch to fold.
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn finish(g: u32, v: f32) {
    out[g] = v;
}
