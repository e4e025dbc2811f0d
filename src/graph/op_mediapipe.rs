//! Parameters of MediaPipe's transform custom ops (mediapipe/util/tflite/operations):
//! the landmarks-to-matrix estimate of a crop, the bilinear warp of a tensor by a
//! matrix and the transform of landmarks by a matrix. Each has two versions, told
//! apart by the operator code's version.

/// One of MediaPipe's transform custom ops.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaPipeOp {
    /// `Landmarks2TransformMatrix`: landmarks in, a 4x4 crop-to-image matrix out.
    LandmarksToTransformMatrix(LandmarksToMatrix),
    /// `TransformTensor` (v1) / `TransformTensorBilinear` (v2): sample a tensor at
    /// the matrix image of every output pixel.
    TransformTensorBilinear(TransformTensor),
    /// `TransformLandmarks`: apply a matrix to landmarks.
    TransformLandmarks(TransformLandmarks),
}

impl MediaPipeOp {
    /// The custom code the op is registered under.
    pub fn name(&self) -> &'static str {
        match self {
            MediaPipeOp::LandmarksToTransformMatrix(_) => "Landmarks2TransformMatrix",
            MediaPipeOp::TransformTensorBilinear(t) if !t.align_corners => "TransformTensor",
            MediaPipeOp::TransformTensorBilinear(_) => "TransformTensorBilinear",
            MediaPipeOp::TransformLandmarks(_) => "TransformLandmarks",
        }
    }

    /// The operator code version the op is registered with.
    pub fn version(&self) -> i32 {
        match self {
            MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V1(_))
            | MediaPipeOp::TransformLandmarks(TransformLandmarks::V1 { .. }) => 1,
            MediaPipeOp::TransformTensorBilinear(t) if !t.align_corners => 1,
            _ => 2,
        }
    }
}

/// The two versions of `Landmarks2TransformMatrix`.
#[derive(Debug, Clone, PartialEq)]
pub enum LandmarksToMatrix {
    /// Version 1: input [1, 1, 1, 3 * landmarks].
    V1(LandmarksToMatrixV1),
    /// Version 2: input [1, landmarks, 3].
    V2(LandmarksToMatrixV2),
}

/// Options of `Landmarks2TransformMatrix` version 1.
#[derive(Debug, Clone, PartialEq)]
pub struct LandmarksToMatrixV1 {
    /// Values per landmark (MediaPipe accepts only 3).
    pub dimensions: i32,
    /// The range of landmark coordinates (the input image size they refer to).
    pub landmarks_range: i32,
    /// Multiplier of the bounding box of the subset.
    pub bbox_size_multiplier: f32,
    /// Landmark at the left end of the rotation axis.
    pub left_rotation_idx: usize,
    /// Landmark at the right end of the rotation axis.
    pub right_rotation_idx: usize,
    /// Input image [height, width].
    pub input_hw: [i32; 2],
    /// Output image [height, width].
    pub output_hw: [i32; 2],
    /// Pairs of landmarks whose bounding box is the crop.
    pub subset: Vec<[usize; 2]>,
}

/// Options of `Landmarks2TransformMatrix` version 2.
#[derive(Debug, Clone, PartialEq)]
pub struct LandmarksToMatrixV2 {
    /// Landmark at the left end of the rotation axis.
    pub left_rotation_idx: usize,
    /// Landmark at the right end of the rotation axis.
    pub right_rotation_idx: usize,
    /// The rotation the axis should have in the crop.
    pub target_rotation_radians: f32,
    /// Width of the crop in output pixels.
    pub output_width: i32,
    /// Height of the crop in output pixels.
    pub output_height: i32,
    /// Horizontal scale of the crop relative to the landmarks' box.
    pub scale_x: f32,
    /// Vertical scale of the crop relative to the landmarks' box.
    pub scale_y: f32,
    /// Pairs of landmarks whose bounding box is the crop.
    pub subset_idxs: Vec<[usize; 2]>,
}

/// Options of `TransformTensor` / `TransformTensorBilinear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformTensor {
    /// Output height.
    pub output_height: usize,
    /// Output width.
    pub output_width: usize,
    /// Pixel centres at +0.5 (version 2) instead of at integers (version 1).
    pub align_corners: bool,
}

/// The two versions of `TransformLandmarks`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransformLandmarks {
    /// Version 1: landmarks [b, h, w, c], `dimensions` values each, the matrix's
    /// translation multiplied by `scale`.
    V1 {
        /// Values per landmark: 2 or 3 (the third is copied).
        dimensions: usize,
        /// Multiplier of the translation.
        scale: f32,
    },
    /// Version 2: landmarks [1, n, d] with d = 2 or 3.
    V2,
}

/// Landmarks whose shape does not fit TransformLandmarks' version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LandmarkLayoutError {
    /// Version 1 takes [b, h, w, c] with c a multiple of `dimensions`.
    #[error("landmarks must be 4-D with channels a multiple of {dimensions}, got {shape:?}")]
    V1 {
        /// Values per landmark.
        dimensions: usize,
        /// The landmarks' shape.
        shape: Vec<usize>,
    },
    /// Version 2 takes [1, n, 2 or 3].
    #[error("landmarks must be [1, n, 2 or 3] for version 2, got {shape:?}")]
    V2 {
        /// The landmarks' shape.
        shape: Vec<usize>,
    },
}

impl TransformLandmarks {
    /// Values per landmark and translation multiplier over landmarks of `shape`:
    /// v1 takes [b, h, w, c] with c a multiple of `dimensions`, v2 [b, n, 2 or 3].
    pub fn layout(&self, shape: &[usize]) -> Result<(usize, f32), LandmarkLayoutError> {
        match (self, shape) {
            (TransformLandmarks::V1 { dimensions, scale }, [_, _, _, c])
                if *dimensions > 0 && c % dimensions == 0 =>
            {
                Ok((*dimensions, *scale))
            }
            (TransformLandmarks::V2, [_, _, d @ (2 | 3)]) => Ok((*d, 1.0)),
            (TransformLandmarks::V1 { dimensions, .. }, s) => Err(LandmarkLayoutError::V1 {
                dimensions: *dimensions,
                shape: s.to_vec(),
            }),
            (TransformLandmarks::V2, s) => Err(LandmarkLayoutError::V2 { shape: s.to_vec() }),
        }
    }
}
