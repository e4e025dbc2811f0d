//! The flexbuffer options of TFLite_Detection_PostProcess, read as LiteRT's
//! `detection_postprocess::Init` reads them and written for the writer.

use super::flex::{self, Ref, Value};
use crate::error::Result;
use crate::graph::op::DetectionPostProcess;

/// Decode the options map. Absent keys read as LiteRT reads them: 0 for numbers,
/// false for use_regular_nms, 100 for detections_per_class.
pub(super) fn decode(bytes: &[u8]) -> Result<DetectionPostProcess> {
    let map = Ref::root(bytes)?.as_map()?;
    let get = |key: &str| flex::lookup(&map, key);
    let int = |key: &str| -> Result<i32> { get(key).map_or(Ok(0), |v| v.as_i32()) };
    let float =
        |key: &str| -> Result<f32> { get(key).map_or(Ok(0.0), |v| v.as_f64().map(|x| x as f32)) };
    let per_class = match get("detections_per_class") {
        Some(v) => v.as_i32()?,
        None => DetectionPostProcess::default().detections_per_class,
    };
    Ok(DetectionPostProcess {
        max_detections: int("max_detections")?,
        max_classes_per_detection: int("max_classes_per_detection")?,
        detections_per_class: per_class,
        use_regular_nms: int("use_regular_nms")? != 0,
        nms_score_threshold: float("nms_score_threshold")?,
        nms_iou_threshold: float("nms_iou_threshold")?,
        num_classes: int("num_classes")?,
        y_scale: float("y_scale")?,
        x_scale: float("x_scale")?,
        h_scale: float("h_scale")?,
        w_scale: float("w_scale")?,
    })
}

/// Encode every option, ints as ints and floats as floats, as the converter does.
pub(super) fn encode(p: &DetectionPostProcess) -> Vec<u8> {
    let int = |v: i32| Value::Int(v.into());
    let float = |v: f32| Value::Float(v.into());
    flex::map(&[
        ("max_detections", int(p.max_detections)),
        (
            "max_classes_per_detection",
            int(p.max_classes_per_detection),
        ),
        ("detections_per_class", int(p.detections_per_class)),
        ("use_regular_nms", Value::Bool(p.use_regular_nms)),
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
        let p = decode(&flex::map(&[("max_detections", Value::Int(3))])).unwrap();
        assert_eq!(p.max_detections, 3);
        assert_eq!(p.detections_per_class, 100);
        assert!(!p.use_regular_nms);
        assert_eq!(p.y_scale, 0.0);
    }
}
