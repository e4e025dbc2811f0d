// Numpy broadcasting up to rank 6, put in front of the element-wise kernels (a
// piece of their Shader in src/gpu/ops/). Dims travel as two vec4s, innermost last, padded
// with leading 1s; an operand's stride is 0 along a dimension it broadcasts.

fn dim6(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

// Where output element `i` (of an output of `shape`) reads an operand laid out
// with `strides`.
fn broadcast_offset(i: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>) -> u32 {
    var rem = i;
    var offset = 0u;
    for (var d = 5i; d >= 0; d--) {
        let size = dim6(shape, u32(d));
        offset += (rem % size) * dim6(strides, u32(d));
        rem = rem / size;
    }
    return offset;
}

