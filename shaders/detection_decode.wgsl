// The box decoding of TFLite_Detection_PostProcess (center-size encodings
// against anchors), one box per invocation:
//   yc = y / y_scale * ah + ay        xc = x / x_scale * aw + ax
//   hh = 0.5 * exp(h / h_scale) * ah  hw = 0.5 * exp(w / w_scale) * aw
//   out[b] = (yc - hh, xc - hw, yc + hh, xc + hw)
// enc holds code_len values per box (the first four are y, x, h, w), anchors
// (y, x, h, w) per box. Arithmetic in f32 whatever the storage type.
// Host side: src/gpu/ops/detection.rs.

struct Params {
    n: u32,
    code_len: u32,
    y_scale: f32,
    x_scale: f32,
    h_scale: f32,
    w_scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> enc: array<scalar>;
@group(0) @binding(2) var<storage, read> anchors: array<scalar>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let b = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (b >= p.n) {
        return;
    }
    let e = b * p.code_len;
    let a = b * 4u;
    let ay = f32(anchors[a]);
    let ax = f32(anchors[a + 1u]);
    let ah = f32(anchors[a + 2u]);
    let aw = f32(anchors[a + 3u]);
    let yc = f32(enc[e]) / p.y_scale * ah + ay;
    let xc = f32(enc[e + 1u]) / p.x_scale * aw + ax;
    let hh = 0.5 * exp(f32(enc[e + 2u]) / p.h_scale) * ah;
    let hw = 0.5 * exp(f32(enc[e + 3u]) / p.w_scale) * aw;
    out[a] = to_scalar(yc - hh);
    out[a + 1u] = to_scalar(xc - hw);
    out[a + 2u] = to_scalar(yc + hh);
    out[a + 3u] = to_scalar(xc + hw);
}
