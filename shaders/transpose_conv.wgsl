// TRANSPOSE_CONV (and MediaPipe Convolution2DTransposeBias) as a gather: output
// pixel (oy, ox) sums input pixels iy = (oy + pt - ky) / sh (when divisible and in
// range), likewise for x, over weights re-laid out at lowering as
// w[ky][kx][ci][oc4] (vec4 of 4 consecutive output channels, zero-padded).
// Each invocation computes 4 consecutive output channels of one output pixel in
// f32, adds the f32 bias and clamps (fused activation).

struct Params {
    total: u32,
    ih: u32,
    iw: u32,
    ic: u32,
    oh: u32,
    ow: u32,
    oc: u32,
    kh: u32,
    kw: u32,
    ocq: u32,
    sh: u32,
    sw: u32,
    pt: u32,
    pl: u32,
    act_min: f32,
    act_max: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read> w: array<vec4<scalar>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.total) {
        return;
    }
    let q = i % p.ocq;
    let pix = i / p.ocq;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(oy + p.pt) - i32(ky);
        if (ty < 0 || (u32(ty) % p.sh) != 0u) {
            continue;
        }
        let iy = u32(ty) / p.sh;
        if (iy >= p.ih) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ox + p.pl) - i32(kx);
            if (tx < 0 || (u32(tx) % p.sw) != 0u) {
                continue;
            }
            let ix = u32(tx) / p.sw;
            if (ix >= p.iw) {
                continue;
            }
            let xb = ((b * p.ih + iy) * p.iw + ix) * p.ic;
            let wb = (ky * p.kw + kx) * p.ic * p.ocq + q;
            for (var ci = 0u; ci < p.ic; ci++) {
                acc += f32(x[xb + ci]) * vec4<f32>(w[wb + ci * p.ocq]);
            }
        }
    }
    let ob = pix * p.oc;
    for (var j = 0u; j < 4u; j++) {
        let c = q * 4u + j;
        if (c < p.oc) {
            out[ob + c] = to_scalar(clamp(acc[j] + bias[c], p.act_min, p.act_max));
        }
    }
}
