// The geometry every convolution kernel's Params begins with (float and integer,
// regular and depthwise): invocations, input, output and filter sizes, strides,
// dilations and the top/left padding. Host side: ConvGeom in src/gpu/ops/conv/geometry.rs.
struct ConvGeom {
    total: u32,
    ih: u32,
    iw: u32,
    ic: u32,
    oh: u32,
    ow: u32,
    oc: u32,
    kh: u32,
    kw: u32,
    // Filter input channels per group (convolution) or depth multiplier (depthwise).
    fic: u32,
    sh: u32,
    sw: u32,
    dh: u32,
    dw: u32,
    pt: u32,
    pl: u32,
}

