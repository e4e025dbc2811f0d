//! Detection post-processing: TFLite_Detection_PostProcess and
//! NON_MAX_SUPPRESSION_V4/V5.

mod nms;
mod postprocess;
mod stl;

pub use nms::nms;
pub use postprocess::{detection_decode, detection_nms, detection_postprocess};
