// Output of shaders/reduce.wgsl: the tensor. Stores output g from the
// reduction v of its row (divided by the row's element count for MEAN).
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

fn finish(g: u32, v: f32) {
    var y = v;
    if (OP == REDUCE_MEAN) {
        y = y / f32(max(p.count, 1u));
    }
    out[g] = to_scalar(y);
}
