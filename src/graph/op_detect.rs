//! Parameters of the detection post-processing ops (kept apart from `op.rs`).

/// Options of the TFLite_Detection_PostProcess custom op (its flexbuffer map).
///
/// Inputs: box encodings [1, boxes, >= 4] (y, x, h, w per anchor, center-size),
/// class scores [1, boxes, classes (+1 background)], anchors [boxes, 4]
/// (y, x, h, w). Outputs (float32): boxes [1, n, 4] (ymin, xmin, ymax, xmax),
/// classes `[1, n]`, scores `[1, n]` and the count `[1]`, with
/// n = max_detections * max_classes_per_detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectionPostProcess {
    /// Most detections kept.
    pub max_detections: i32,
    /// Classes reported per detection (fast NMS).
    pub max_classes_per_detection: i32,
    /// Detections kept per class before the final top-k (regular NMS; 100 when absent).
    pub detections_per_class: i32,
    /// Per-class NMS (true) or one class-agnostic NMS over each box's best score.
    pub use_regular_nms: bool,
    /// Scores below this are dropped.
    pub nms_score_threshold: f32,
    /// Boxes overlapping a kept one by more than this IoU are suppressed.
    pub nms_iou_threshold: f32,
    /// Classes, not counting a background column.
    pub num_classes: i32,
    /// Divisor of the y center encoding.
    pub y_scale: f32,
    /// Divisor of the x center encoding.
    pub x_scale: f32,
    /// Divisor of the log height encoding.
    pub h_scale: f32,
    /// Divisor of the log width encoding.
    pub w_scale: f32,
}

impl DetectionPostProcess {
    /// The custom code the op is stored under.
    pub const CUSTOM_CODE: &'static str = "TFLite_Detection_PostProcess";

    /// Rows of each output: max_detections * max_classes_per_detection.
    pub fn output_rows(&self) -> Option<usize> {
        let n = i64::from(self.max_detections) * i64::from(self.max_classes_per_detection);
        usize::try_from(n).ok()
    }
}

impl Default for DetectionPostProcess {
    /// The values LiteRT uses for absent keys (absent numbers read as 0, except
    /// detections_per_class).
    fn default() -> Self {
        DetectionPostProcess {
            max_detections: 0,
            max_classes_per_detection: 0,
            detections_per_class: 100,
            use_regular_nms: false,
            nms_score_threshold: 0.0,
            nms_iou_threshold: 0.0,
            num_classes: 0,
            y_scale: 0.0,
            x_scale: 0.0,
            h_scale: 0.0,
            w_scale: 0.0,
        }
    }
}
