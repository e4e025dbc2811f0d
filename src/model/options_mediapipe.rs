//! The FlexBuffers custom options of MediaPipe's transform ops, read as LiteRT's GPU
//! delegate parses them (tflite/delegates/gpu/common/mediapipe/*.cc), and written
//! back by the writer.

use super::flex::{self, Ref, Value};
use super::options::RawOp;
use crate::error::{Error, Result};
use crate::graph::op::*;

/// The options map of a custom op: key -> value.
struct Map<'a> {
    entries: Vec<(&'a str, Ref<'a>)>,
}

impl<'a> Map<'a> {
    fn get(&self, key: &str) -> Option<Ref<'a>> {
        flex::lookup(&self.entries, key)
    }
}

impl RawOp<'_> {
    fn mp_err(&self, name: &str, what: impl Into<String>) -> Error {
        Error::node(self.node, name, what)
    }

    /// Decode `Landmarks2TransformMatrix`, `TransformTensor[Bilinear]` or
    /// `TransformLandmarks`. Version 1 and 2 follow the operator code; an unknown
    /// version (0) is told by the options (v1 of Landmarks2TransformMatrix has
    /// `input_hw`, v1 of TransformTensor has `output_size`, v1 of TransformLandmarks
    /// has options at all).
    pub(super) fn decode_mediapipe(&self, name: &str) -> Result<MediaPipeOp> {
        let bytes = self.custom_options.unwrap_or(&[]);
        let wrap = |e: Error| self.mp_err(name, format!("custom options: {e}"));
        let map = if bytes.is_empty() {
            Map {
                entries: Vec::new(),
            }
        } else {
            Map {
                entries: Ref::root(bytes).and_then(|r| r.as_map()).map_err(wrap)?,
            }
        };
        let has = |k: &str| map.get(k).is_some();
        let version = match self.version {
            0 => match name {
                "Landmarks2TransformMatrix" if has("input_hw") => 1,
                "TransformTensor" => 1,
                "TransformTensorBilinear" if has("output_size") => 1,
                "TransformLandmarks" if !bytes.is_empty() => 1,
                _ => 2,
            },
            v @ (1 | 2) => v,
            v => return Err(self.mp_err(name, format!("version {v}: MediaPipe defines 1 and 2"))),
        };
        let need = |k: &str| {
            map.get(k)
                .ok_or_else(|| self.mp_err(name, format!("custom option {k} is missing")))
        };
        let int = |k: &str| need(k)?.as_i32().map_err(wrap);
        let float = |k: &str| Ok::<f32, Error>(need(k)?.as_f64().map_err(wrap)? as f32);
        let index = |k: &str, v: i64| {
            usize::try_from(v).map_err(|_| self.mp_err(name, format!("{k} {v} is negative")))
        };
        let ints = |k: &str| need(k)?.as_ints().map_err(wrap);
        // Index pairs; an odd count repeats the last index (as LiteRT parses them).
        let pairs = |k: &str| -> Result<Vec<[usize; 2]>> {
            let v = ints(k)?;
            v.chunks(2)
                .map(|c| Ok([index(k, c[0])?, index(k, *c.last().unwrap_or(&c[0]))?]))
                .collect()
        };
        let hw = |k: &str| -> Result<[i32; 2]> {
            match ints(k)?[..] {
                [h, w] => Ok([h as i32, w as i32]),
                ref v => Err(self.mp_err(name, format!("{k} has {} values, not 2", v.len()))),
            }
        };
        let positive = |k: &str, v: i64| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| self.mp_err(name, format!("{k} {v} is not positive")))
        };
        Ok(match name {
            "Landmarks2TransformMatrix" if version == 1 => {
                let p = LandmarksToMatrixV1 {
                    dimensions: int("dimensions")?,
                    landmarks_range: int("landmarks_range")?,
                    bbox_size_multiplier: float("bbox_size_multiplier")?,
                    left_rotation_idx: index(
                        "left_rotation_idx",
                        int("left_rotation_idx")?.into(),
                    )?,
                    right_rotation_idx: index(
                        "right_rotation_idx",
                        int("right_rotation_idx")?.into(),
                    )?,
                    input_hw: hw("input_hw")?,
                    output_hw: hw("output_hw")?,
                    subset: pairs("subset")?,
                };
                let bad = if p.dimensions != 3 {
                    Some(format!("dimensions {} (must be 3)", p.dimensions))
                } else if p.landmarks_range <= 0 || p.bbox_size_multiplier == 0.0 {
                    Some("landmarks_range and bbox_size_multiplier must be positive".to_string())
                } else if p.input_hw.iter().chain(&p.output_hw).any(|&v| v <= 0) {
                    Some("input_hw and output_hw must be positive".to_string())
                } else if p.subset.is_empty() {
                    Some("subset is empty".to_string())
                } else {
                    None
                };
                if let Some(b) = bad {
                    return Err(self.mp_err(name, b));
                }
                MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V1(p))
            }
            "Landmarks2TransformMatrix" => {
                let p = LandmarksToMatrixV2 {
                    left_rotation_idx: index(
                        "left_rotation_idx",
                        int("left_rotation_idx")?.into(),
                    )?,
                    right_rotation_idx: index(
                        "right_rotation_idx",
                        int("right_rotation_idx")?.into(),
                    )?,
                    target_rotation_radians: float("target_rotation_radians")?,
                    output_width: positive("output_width", int("output_width")?.into())? as i32,
                    output_height: positive("output_height", int("output_height")?.into())? as i32,
                    scale_x: float("scale_x")?,
                    scale_y: float("scale_y")?,
                    subset_idxs: pairs("subset_idxs")?,
                };
                if !(p.scale_x > 0.0 && p.scale_y > 0.0) || p.subset_idxs.is_empty() {
                    return Err(self.mp_err(
                        name,
                        "scale_x and scale_y must be positive and subset_idxs not empty",
                    ));
                }
                MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V2(p))
            }
            "TransformLandmarks" if version == 1 => {
                let dimensions = match map.get("dimensions") {
                    Some(d) => d.as_i64().map_err(wrap)?,
                    None => 3,
                };
                let scale = match map.get("scale") {
                    Some(s) => s.as_f64().map_err(wrap)? as f32,
                    None => 1.0,
                };
                if !matches!(dimensions, 2 | 3) || scale == 0.0 {
                    return Err(self.mp_err(
                        name,
                        format!("dimensions {dimensions} (must be 2 or 3), scale {scale} (not 0)"),
                    ));
                }
                MediaPipeOp::TransformLandmarks(TransformLandmarks::V1 {
                    dimensions: dimensions as usize,
                    scale,
                })
            }
            "TransformLandmarks" => MediaPipeOp::TransformLandmarks(TransformLandmarks::V2),
            _ if version == 1 => {
                if let Some(mode) = map.get("mode") {
                    let mode = mode.as_str().map_err(wrap)?;
                    if mode != "bilinear" {
                        return Err(self.mp_err(name, format!("mode {mode:?} (only bilinear)")));
                    }
                }
                let [h, w] = hw("output_size")?;
                MediaPipeOp::TransformTensorBilinear(TransformTensor {
                    output_height: positive("output_size", h.into())?,
                    output_width: positive("output_size", w.into())?,
                    align_corners: false,
                })
            }
            _ => MediaPipeOp::TransformTensorBilinear(TransformTensor {
                output_height: positive("output_height", int("output_height")?.into())?,
                output_width: positive("output_width", int("output_width")?.into())?,
                align_corners: true,
            }),
        })
    }
}

/// The FlexBuffers custom options of a MediaPipe op, as MediaPipe's converter
/// writes them.
pub fn encode_mediapipe(op: &MediaPipeOp) -> Vec<u8> {
    let int = |v: usize| Value::Int(v as i64);
    let pairs = |p: &[[usize; 2]]| Value::Ints(p.iter().flatten().map(|&v| v as i64).collect());
    let f = |v: f32| Value::Float(f64::from(v));
    match op {
        MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V1(p)) => flex::map(&[
            ("dimensions", Value::Int(p.dimensions.into())),
            ("landmarks_range", Value::Int(p.landmarks_range.into())),
            ("bbox_size_multiplier", f(p.bbox_size_multiplier)),
            ("left_rotation_idx", int(p.left_rotation_idx)),
            ("right_rotation_idx", int(p.right_rotation_idx)),
            (
                "input_hw",
                Value::Ints(p.input_hw.iter().map(|&v| v.into()).collect()),
            ),
            (
                "output_hw",
                Value::Ints(p.output_hw.iter().map(|&v| v.into()).collect()),
            ),
            ("subset", pairs(&p.subset)),
        ]),
        MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V2(p)) => flex::map(&[
            ("left_rotation_idx", int(p.left_rotation_idx)),
            ("right_rotation_idx", int(p.right_rotation_idx)),
            ("target_rotation_radians", f(p.target_rotation_radians)),
            ("output_width", Value::Int(p.output_width.into())),
            ("output_height", Value::Int(p.output_height.into())),
            ("scale_x", f(p.scale_x)),
            ("scale_y", f(p.scale_y)),
            ("subset_idxs", pairs(&p.subset_idxs)),
        ]),
        MediaPipeOp::TransformTensorBilinear(t) if !t.align_corners => flex::map(&[
            ("mode", Value::Str("bilinear".into())),
            (
                "output_size",
                Value::Ints(vec![t.output_height as i64, t.output_width as i64]),
            ),
        ]),
        MediaPipeOp::TransformTensorBilinear(t) => flex::map(&[
            ("output_height", int(t.output_height)),
            ("output_width", int(t.output_width)),
        ]),
        MediaPipeOp::TransformLandmarks(TransformLandmarks::V1 { dimensions, scale }) => {
            flex::map(&[("dimensions", int(*dimensions)), ("scale", f(*scale))])
        }
        MediaPipeOp::TransformLandmarks(TransformLandmarks::V2) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Op;
    use crate::model::codes::code;

    fn decode(name: &str, version: i32, bytes: &[u8]) -> Result<Op> {
        RawOp {
            node: 3,
            code: code::CUSTOM,
            custom_code: Some(name.to_string()),
            version,
            options_type: 0,
            options: None,
            custom_options: Some(bytes),
        }
        .decode()
    }

    fn v2_matrix(subset: Vec<[usize; 2]>) -> MediaPipeOp {
        MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V2(LandmarksToMatrixV2 {
            left_rotation_idx: 1,
            right_rotation_idx: 2,
            target_rotation_radians: 0.25,
            output_width: 8,
            output_height: 6,
            scale_x: 1.5,
            scale_y: 2.0,
            subset_idxs: subset,
        }))
    }

    #[test]
    fn every_op_reads_back_what_is_written_with_its_version() {
        let ops = [
            v2_matrix(vec![[0, 1], [2, 3]]),
            MediaPipeOp::LandmarksToTransformMatrix(LandmarksToMatrix::V1(LandmarksToMatrixV1 {
                dimensions: 3,
                landmarks_range: 192,
                bbox_size_multiplier: 1.5,
                left_rotation_idx: 0,
                right_rotation_idx: 4,
                input_hw: [192, 192],
                output_hw: [64, 48],
                subset: vec![[1, 2]],
            })),
            MediaPipeOp::TransformTensorBilinear(TransformTensor {
                output_height: 5,
                output_width: 7,
                align_corners: false,
            }),
            MediaPipeOp::TransformTensorBilinear(TransformTensor {
                output_height: 5,
                output_width: 7,
                align_corners: true,
            }),
            MediaPipeOp::TransformLandmarks(TransformLandmarks::V1 {
                dimensions: 2,
                scale: 0.5,
            }),
            MediaPipeOp::TransformLandmarks(TransformLandmarks::V2),
        ];
        for op in ops {
            let bytes = encode_mediapipe(&op);
            let got = decode(op.name(), op.version(), &bytes).unwrap();
            assert_eq!(got, Op::MediaPipe(op.clone()), "{}", op.name());
            // Without the version (the C ABI), the options tell it.
            let got = decode(op.name(), 0, &bytes).unwrap();
            assert_eq!(got, Op::MediaPipe(op.clone()), "{} version 0", op.name());
        }
    }

    #[test]
    fn the_version_not_the_name_picks_the_pixel_convention() {
        let v1 = encode_mediapipe(&MediaPipeOp::TransformTensorBilinear(TransformTensor {
            output_height: 2,
            output_width: 3,
            align_corners: false,
        }));
        match decode("TransformTensorBilinear", 1, &v1).unwrap() {
            Op::MediaPipe(MediaPipeOp::TransformTensorBilinear(t)) => assert!(!t.align_corners),
            other => panic!("{other:?}"),
        }
        let e = decode("TransformTensorBilinear", 3, &v1).unwrap_err();
        assert!(e.to_string().contains("version 3"), "{e}");
    }

    #[test]
    fn an_odd_subset_pairs_its_last_index_with_itself() {
        let mut bytes = encode_mediapipe(&v2_matrix(vec![[0, 1]]));
        let odd = flex::map(&[
            ("left_rotation_idx", Value::Int(1)),
            ("right_rotation_idx", Value::Int(2)),
            ("target_rotation_radians", Value::Float(0.25)),
            ("output_width", Value::Int(8)),
            ("output_height", Value::Int(6)),
            ("scale_x", Value::Float(1.5)),
            ("scale_y", Value::Float(2.0)),
            ("subset_idxs", Value::Ints(vec![0, 1, 5])),
        ]);
        let got = decode("Landmarks2TransformMatrix", 2, &odd).unwrap();
        assert_eq!(got, Op::MediaPipe(v2_matrix(vec![[0, 1], [5, 5]])));
        bytes.truncate(bytes.len() / 2);
        assert!(decode("Landmarks2TransformMatrix", 2, &bytes).is_err());
    }

    #[test]
    fn bad_options_are_errors_naming_the_node_and_op() {
        let valid = flex::map(&[("dimensions", Value::Int(3)), ("scale", Value::Float(1.0))]);
        assert!(decode("TransformLandmarks", 1, &valid).is_ok());
        let bad = flex::map(&[("dimensions", Value::Int(4))]);
        let e = decode("TransformLandmarks", 1, &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("node 3") && e.contains("TransformLandmarks"),
            "{e}"
        );
        let missing = flex::map(&[("output_width", Value::Int(4))]);
        let e = decode("TransformTensorBilinear", 2, &missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("output_height is missing"), "{e}");
        let neg = flex::map(&[
            ("left_rotation_idx", Value::Int(-1)),
            ("right_rotation_idx", Value::Int(2)),
            ("target_rotation_radians", Value::Float(0.0)),
            ("output_width", Value::Int(8)),
            ("output_height", Value::Int(6)),
            ("scale_x", Value::Float(1.0)),
            ("scale_y", Value::Float(1.0)),
            ("subset_idxs", Value::Ints(vec![0, 1])),
        ]);
        let e = decode("Landmarks2TransformMatrix", 2, &neg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("left_rotation_idx -1 is negative"), "{e}");
    }
}
