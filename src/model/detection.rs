//! The flexbuffer options of TFLite_Detection_PostProcess, read as LiteRT's
//! `detection_postprocess::Init` reads them and written for the writer.

use super::flex::{read_map, write_map, FlexError, Scalar};
use crate::graph::op::DetectionPostProcess;

/// Decode the options map. Absent keys read as LiteRT reads them: 0 for numbers,
/// false for use_regular_nms, 100 for detections_per_class.
pub(super) fn decode(bytes: &[u8]) -> Result<DetectionPostProcess, FlexError> {
    let m = read_map(bytes)?;
    let defaults = DetectionPostProcess::default();
    let per_class = m.get("detections_per_class");
    let regular = m.get("use_regular_nms");
    Ok(DetectionPostProcess {
        max_detections: m.get("max_detections").as_i32(),
        max_classes_per_detection: m.get("max_classes_per_detection").as_i32(),
        detections_per_class: if per_class.is_null() {
            defaults.detections_per_class
        } else {
            per_class.as_i32()
        },
        use_regular_nms: !regular.is_null() && regular.as_bool(),
        nms_score_threshold: m.get("nms_score_threshold").as_f32(),
        nms_iou_threshold: m.get("nms_iou_threshold").as_f32(),
        num_classes: m.get("num_classes").as_i32(),
        y_scale: m.get("y_scale").as_f32(),
        x_scale: m.get("x_scale").as_f32(),
        h_scale: m.get("h_scale").as_f32(),
        w_scale: m.get("w_scale").as_f32(),
    })
}

/// Encode every option, ints as ints and floats as floats, as the converter does.
pub(super) fn encode(p: &DetectionPostProcess) -> Vec<u8> {
    let int = |v: i32| Scalar::Int(v.into());
    let float = |v: f32| Scalar::Float(v.into());
    write_map(&[
        ("max_detections", int(p.max_detections)),
        (
            "max_classes_per_detection",
            int(p.max_classes_per_detection),
        ),
        ("detections_per_class", int(p.detections_per_class)),
        ("use_regular_nms", Scalar::Bool(p.use_regular_nms)),
        ("nms_score_threshold", float(p.nms_score_threshold)),
        ("nms_iou_threshold", float(p.nms_iou_threshold)),
        ("num_classes", int(p.num_classes)),
        ("y_scale", float(p.y_scale)),
        ("x_scale", float(p.x_scale)),
        ("h_scale", float(p.h_scale)),
        ("w_scale", float(p.w_scale)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let p = DetectionPostProcess {
            max_detections: 10,
            max_classes_per_detection: 2,
            detections_per_class: 5,
            use_regular_nms: true,
            nms_score_threshold: 0.25,
            nms_iou_threshold: 0.6,
            num_classes: 90,
            y_scale: 10.0,
            x_scale: 10.0,
            h_scale: 5.0,
            w_scale: 5.0,
        };
        assert_eq!(decode(&encode(&p)).unwrap(), p);
    }

    #[test]
    fn absent_keys_take_litert_defaults() {
        let p = decode(&write_map(&[("max_detections", Scalar::Int(3))])).unwrap();
        assert_eq!(p.max_detections, 3);
        assert_eq!(p.detections_per_class, 100);
        assert!(!p.use_regular_nms);
        assert_eq!(p.y_scale, 0.0);
    }
}
