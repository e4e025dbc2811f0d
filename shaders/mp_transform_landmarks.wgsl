// MediaPipe TransformLandmarks: every landmark (DIMS values, 2 or 3) gets x and y
// from the first two rows of the matrix m applied to (x, y, 0, 1), the translation
// multiplied by p.scale (v1; 1 for v2); z is copied. One invocation per landmark.

struct Params {
    n: u32,
    dims: u32,
    scale: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lm: array<scalar>;
@group(0) @binding(2) var<storage, read> m: array<scalar>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let b = i * p.dims;
    let x = f32(lm[b]);
    let y = f32(lm[b + 1u]);
    let xr = vec4<f32>(f32(m[0]), f32(m[1]), f32(m[2]), f32(m[3]) * p.scale);
    let yr = vec4<f32>(f32(m[4]), f32(m[5]), f32(m[6]), f32(m[7]) * p.scale);
    out[b] = to_scalar(xr.x * x + xr.y * y + xr.z * 0.0 + xr.w);
    out[b + 1u] = to_scalar(yr.x * x + yr.y * y + yr.z * 0.0 + yr.w);
    if (p.dims == 3u) {
        out[b + 2u] = to_scalar(f32(lm[b + 2u]));
    }
}
