// DEPTHWISE_CONV_2D (depth multiplier 1) followed by a 1x1 CONV_2D in one
// dispatch, as TFLite's DepthwiseConvPlus1x1Conv: each workgroup computes the
// depthwise outputs of `tp` consecutive output pixels (all channels) into
// workgroup memory, rounded to storage precision as the separate op would store
// them, then each invocation takes (block of PB pixels, quad of 4 output
// channels) pairs of the 1x1 convolution, PB x 4 sums in registers (PB + 1
// loads per 4 * PB products), and stores them through the convolution's
// epilogue (bias, clamp, fused steps of epilogue.wgsl). The depthwise half is a stage in front
// of this body, `depthwise_stage(li, first, count)`, which fills `tile` with
// the depthwise outputs of `count` pixels from pixel `first`:
// dw_pointwise_stage.wgsl one channel per step, dw_pointwise_stage_vec4.wgsl a
// quad of channels per step (input and filter read as vec4 quads) when the
// channel count is a multiple of 4. Host side: src/gpu/ops/conv/dw_pointwise.rs.

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
// The input (binding 1) and the depthwise filter (binding 2) are declared by
// the depthwise stage in front of this body.
// Depthwise biases (g.ic), then the 1x1 biases (oc).
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// 1x1 weights as [ic][ocq] quads.
@group(0) @binding(4) var<storage, read> w: array<vec4<scalar>>;
@group(0) @binding(5) var<storage, read> e0: array<scalar>;
@group(0) @binding(6) var<storage, read> e1: array<scalar>;
@group(0) @binding(7) var<storage, read_write> out: array<scalar>;

const TILE: u32 = 4096u;
var<workgroup> tile: array<f32, TILE>;
// Pixels of one invocation's block in the 1x1 half (a0 .. a3 below).
const PB: u32 = 4u;

fn epilogue(acc: f32, c: u32, o: u32) -> scalar {
    let v = clamp(acc + bias[p.g.ic + c], p.act_min, p.act_max);
    return ep_store(v, c, o, 1u);
}

// Output channels 4 * quad .. of the block's pixels first .. first + n - 1
// (n <= PB), pixel b's sums in a0 .. a3. The loops' trip counts come from uniforms,
// so a driver keeps them rolled: one copy of the epilogue (with its guarded
// stores and any fused pool) in the compiled kernel, not one per pixel and
// channel, which multiplies a software adapter's compile time several times.
fn store_block(first: u32, n: u32, quad: u32, a0: vec4<f32>, a1: vec4<f32>,
               a2: vec4<f32>, a3: vec4<f32>) {
    let c0 = quad * 4u;
    let nc = min(4u, p.oc - c0);
    for (var b = 0u; b < n; b++) {
        let ob = (first + b) * p.oc + c0;
        let a = select(select(select(a0, a1, b == 1u), a2, b == 2u), a3, b == 3u);
        for (var j = 0u; j < nc; j++) {
            out[ob + j] = epilogue(a[j], c0 + j, ob + j);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let first = (wg.y * nw.x + wg.x) * p.tp;
    if (first >= p.g.total) {
        return;
    }
    let count = min(p.tp, p.g.total - first);
    depthwise_stage(li, first, count);
    workgroupBarrier();
    let blocks = (count + PB - 1u) / PB;
    for (var k = li; k < blocks * p.ocq; k += WORKGROUP_SIZE) {
        let p0 = (k / p.ocq) * PB;
        let quad = k % p.ocq;
        // Rows of the block's pixels in the tile; a block's pixels past `count`
        // repeat its last one and are not stored.
        let last = count - 1u;
        let r0 = p0 * p.g.ic;
        let r1 = min(p0 + 1u, last) * p.g.ic;
        let r2 = min(p0 + 2u, last) * p.g.ic;
        let r3 = min(p0 + 3u, last) * p.g.ic;
        var a0 = vec4<f32>();
        var a1 = vec4<f32>();
        var a2 = vec4<f32>();
        var a3 = vec4<f32>();
        // Summed in ci order, as the separate 1x1 convolution does.
        for (var ci = 0u; ci < p.g.ic; ci++) {
            let wv = vec4<f32>(w[ci * p.ocq + quad]);
            a0 += tile[r0 + ci] * wv;
            a1 += tile[r1 + ci] * wv;
            a2 += tile[r2 + ci] * wv;
            a3 += tile[r3 + ci] * wv;
        }
        store_block(first + p0, min(PB, count - p0), quad, a0, a1, a2, a3);
    }
}
