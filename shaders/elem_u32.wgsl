// The element type of a kernel generic over it (`elem`): 32-bit words (int32,
// bool), written as they are.
alias elem = u32;

fn store_elem(v: elem) -> elem {
    return v;
}
