//! The convolution family: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (and
//! MediaPipe's Convolution2DTransposeBias), float, hybrid and integer, and
//! FULLY_CONNECTED where it runs as a 1x1 convolution (int8 weights).
//!
//! One module per concern, importing only downward:
//! - [`geometry`]: the checked geometry of a node (a leaf: it imports no
//!   sibling), the uniforms every kernel begins with, the int8 weight layout;
//! - [`shaders`]: the kernels ([`Shader`](crate::gpu::ops::Shader)s) and their
//!   uniform structs, float and integer, each a body shared by both behind its
//!   variant's hooks;
//! - [`occupancy`]: the tiles of a GPU plan (a leaf: the numbers of a node and
//!   a device in, a tile shape out) and which depthwise + 1x1 pairs fuse there;
//! - [`tiling`]: how a CONV_2D splits into workgroups and which variant runs;
//! - [`float`]: the float (and hybrid) family, `conv`;
//! - [`int8`]: the integer family, `qconv`;
//! - [`dw_pointwise`]: DEPTHWISE_CONV_2D and the 1x1 CONV_2D after it in one
//!   dispatch, lowered by the float family.

pub(crate) mod dw_pointwise;
pub(crate) mod float;
pub(crate) mod geometry;
pub(crate) mod int8;
pub(crate) mod occupancy;
pub(crate) mod shaders;
pub(crate) mod tiling;
