// Float hooks of matmul.wgsl: storage-precision operands, f32 accumulation,
// then + bias[n] and a clamp (fused activation).

struct Params {
    total: u32,
    m: u32,
    n: u32,
    k: u32,
    a_sm: u32,
    a_sk: u32,
    b_sk: u32,
    b_sn: u32,
    // Column quads: ceil(n / 4).
    nq: u32,
    act_min: f32,
    act_max: f32,
    _pad: u32,
    batch: vec4<u32>,
    a_bs: vec4<u32>,
    b_bs: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<scalar>;
@group(0) @binding(2) var<storage, read> b: array<scalar>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<scalar>;

alias acc_t = f32;

fn load_a(e: u32) -> f32 {
    return f32(a[e]);
}

fn load_b(e: u32) -> f32 {
    return f32(b[e]);
}

fn epilogue(acc: f32, c: u32) -> scalar {
    return to_scalar(clamp(acc + bias[c], p.act_min, p.act_max));
}
