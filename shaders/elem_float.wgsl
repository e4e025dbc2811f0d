// The element type of a kernel generic over it (`elem`): floats in storage
// precision, written through the guarded store of the prologue.
alias elem = scalar;

fn store_elem(v: elem) -> elem {
    return to_scalar(f32(v));
}
