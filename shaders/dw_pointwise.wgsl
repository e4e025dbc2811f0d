// DEPTHWISE_CONV_2D (depth multiplier 1) followed by a 1x1 CONV_2D in one
// dispatch, as TFLite's DepthwiseConvPlus1x1Conv: each workgroup computes the
// depthwise outputs of `tp` consecutive output pixels (all channels) into
// workgroup memory, rounded to storage precision as the separate op would store
// them, then each invocation takes (pixel, quad of 4 output channels) pairs of
// the 1x1 convolution and stores them through the convolution's epilogue (bias,
// clamp, fused steps of epilogue.wgsl). Host side: src/gpu/ops/dw_pointwise.rs.

struct Params {
    // The depthwise geometry; `total` counts output pixels.
    g: ConvGeom,
    // 1x1 output channels, their vec4 quads, pixels per workgroup.
    oc: u32,
    ocq: u32,
    tp: u32,
    dw_min: f32,
    dw_max: f32,
    act_min: f32,
    act_max: f32,
    _pad0: u32,
    e: Epilogue,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read> dww: array<scalar>;
// Depthwise biases (g.ic), then the 1x1 biases (oc).
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// 1x1 weights as [ic][ocq] quads.
@group(0) @binding(4) var<storage, read> w: array<vec4<scalar>>;
@group(0) @binding(5) var<storage, read> e0: array<scalar>;
@group(0) @binding(6) var<storage, read> e1: array<scalar>;
@group(0) @binding(7) var<storage, read_write> out: array<scalar>;

const TILE: u32 = 4096u;
var<workgroup> tile: array<f32, TILE>;

fn epilogue(acc: f32, c: u32, o: u32) -> scalar {
    let v = clamp(acc + bias[p.g.ic + c], p.act_min, p.act_max);
    return to_scalar(ep_apply(v, c, o));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let first = (wg.y * nw.x + wg.x) * p.tp;
    if (first >= p.g.total) {
        return;
    }
    let c_in = p.g.ic;
    let count = min(p.tp, p.g.total - first);
    for (var k = li; k < count * c_in; k += WORKGROUP_SIZE) {
        let c = k % c_in;
        let pix = first + k / c_in;
        let ox = pix % p.g.ow;
        let t = pix / p.g.ow;
        let oy = t % p.g.oh;
        let b = t / p.g.oh;
        var acc = 0.0;
        for (var ky = 0u; ky < p.g.kh; ky++) {
            let iy = i32(oy * p.g.sh + ky * p.g.dh) - i32(p.g.pt);
            if (iy < 0 || iy >= i32(p.g.ih)) {
                continue;
            }
            for (var kx = 0u; kx < p.g.kw; kx++) {
                let ix = i32(ox * p.g.sw + kx * p.g.dw) - i32(p.g.pl);
                if (ix < 0 || ix >= i32(p.g.iw)) {
                    continue;
                }
                let xv = f32(x[((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * c_in + c]);
                acc += xv * f32(dww[(ky * p.g.kw + kx) * c_in + c]);
            }
        }
        tile[k] = f32(to_scalar(clamp(acc + bias[c], p.dw_min, p.dw_max)));
    }
    workgroupBarrier();
    for (var k = li; k < count * p.ocq; k += WORKGROUP_SIZE) {
        let pl = k / p.ocq;
        let quad = k % p.ocq;
        var acc = vec4<f32>();
        for (var ci = 0u; ci < c_in; ci++) {
            acc += tile[pl * c_in + ci] * vec4<f32>(w[ci * p.ocq + quad]);
        }
        let ob = (first + pl) * p.oc;
        for (var j = 0u; j < 4u; j++) {
            let c = quad * 4u + j;
            if (c < p.oc) {
                out[ob + c] = epilogue(acc[j], c, ob + c);
            }
        }
    }
}
