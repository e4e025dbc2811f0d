//! The box decoding half of TFLite_Detection_PostProcess
//! (shaders/detection_decode.wgsl): `delegate::split_detection` splits the node at
//! prepare into this decode and an NMS that stays on the CPU.

use super::LowerCtx;
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/detection_decode.wgsl.
    struct DecodeParams {
        n: u32,
        code_len: u32,
        y_scale: f32,
        x_scale: f32,
        h_scale: f32,
        w_scale: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

static DECODE: Shader = Shader {
    name: "detection_decode",
    parts: &[include_str!("../../../shaders/detection_decode.wgsl")],
    selectors: &[],
    defines: &[],
    params: DecodeParams::LAYOUT,
};

/// (boxes, values per encoding) of a decode node the GPU runs.
fn plan(node: &Node, sg: &Subgraph) -> Support<(usize, usize)> {
    let tensor = |t: Option<usize>, what: &str| {
        t.map(|t| &sg.tensors[t])
            .ok_or_else(|| Unsupported::from(format!("missing {what}")))
    };
    let enc = tensor(node.input(0), "box encodings")?;
    let anchors = tensor(node.input(1), "anchors")?;
    let out = tensor(node.outputs.first().copied(), "output")?;
    for t in [enc, anchors, out] {
        if t.dtype != DType::F32 || t.quantization.is_some() {
            return Err(format!(
                "tensor {} is {}, the GPU decodes float32 boxes",
                t.name, t.dtype
            )
            .into());
        }
    }
    if !anchors.is_constant() {
        return Err(format!("anchors {} are not constant", anchors.name).into());
    }
    let [1, boxes, code_len] = enc.shape[..] else {
        return Err(format!("box encodings {:?}, expected [1, boxes, >= 4]", enc.shape).into());
    };
    if code_len < 4 || anchors.shape != [boxes, 4] || out.shape != [boxes, 4] {
        return Err(format!(
            "box encodings {:?}, anchors {:?} and decoded boxes {:?} do not match",
            enc.shape, anchors.shape, out.shape
        )
        .into());
    }
    if u32::try_from(enc.num_elements()).is_err() {
        return Err("box encodings too large for u32 indexing".into());
    }
    Ok((boxes, code_len))
}

/// Record the decode of one DETECTION_DECODE node.
fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let Op::DetectionDecode(p) = &ctx.node.op else {
        return Err(ctx.err("not a detection decode"));
    };
    let p = *p;
    let (boxes, code_len) = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let enc = ctx.input(0)?;
    let anchors = ctx.input(1)?;
    let out = ctx.output(0)?;
    if boxes == 0 {
        return Ok(());
    }
    ctx.dispatch(
        &DECODE,
        vec![],
        DecodeParams {
            n: boxes as u32,
            code_len: code_len as u32,
            y_scale: p.y_scale,
            x_scale: p.x_scale,
            h_scale: p.h_scale,
            w_scale: p.w_scale,
            _pad0: 0,
            _pad1: 0,
        },
        vec![enc, anchors, out],
        boxes as u64,
    )
}

gpu_op! {
    /// The decode half of a split TFLite_Detection_PostProcess.
    DetectionDecode "detection_decode" {
        claims: |node, _| matches!(node.op, Op::DetectionDecode(_)),
        support: |node, sg| plan(node, sg).map(|_| ()),
        lower: lower,
        shaders: [
            &DECODE,
        ],
    }
}
