//! `tflite-wgpu quantize` refuses bad requests with a clear error and writes
//! nothing; selective quantization keeps the chosen nodes float.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use tflite_wgpu::quantize::{self, Calibration, KeepFloat, Mode, QuantizeOptions, Recipe};
use tflite_wgpu::{npy, DType, Model, Tensor};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-qerr-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run the CLI; expect failure with `needle` in stderr and no `out` file.
fn refuses(args: &[&str], out: &Path, needle: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .arg("quantize")
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "succeeded: {args:?}");
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(!out.exists(), "{} was written", out.display());
    let dir = out.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn bad_requests_write_nothing() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let gen = shared.join("models/gen");
    let float = gen.join("mobilenet_v2_035_128_fp32.tflite");
    let f = float.to_str().unwrap();
    let dir = scratch("bad");
    let out = dir.join("out.tflite");
    let before = std::fs::read(&float).unwrap();

    let int8 = gen.join("mobilenet_v2_035_128_int8.tflite");
    refuses(
        &[int8.to_str().unwrap(), "--mode", "fp16"],
        &out,
        "already quantized",
    );
    refuses(&[f, "--mode", "int8"], &out, "needs calibration");
    refuses(&[f, "--mode", "int16x8"], &out, "int16x8 needs calibration");
    for (mode, io) in [("int16x8", "int8"), ("int16x8", "uint8"), ("int8", "int16")] {
        refuses(
            &[f, "--mode", mode, "--io", io, "--calibration-random", "1"],
            &out,
            &format!("--io {io} does not apply to --mode {mode}"),
        );
    }

    let cal = dir.join("cal");
    std::fs::create_dir_all(&cal).unwrap();
    npy::write(
        cal.join("a.npy"),
        &Tensor::f32(vec![1, 64, 64, 3], vec![0.0; 64 * 64 * 3]),
    )
    .unwrap();
    refuses(
        &[f, "--mode", "int8", "--calibration", cal.to_str().unwrap()],
        &out,
        "does not match model input",
    );
    std::fs::remove_file(cal.join("a.npy")).unwrap();
    npy::write(
        cal.join("b.npy"),
        &Tensor::new(
            vec![1, 128, 128, 3],
            tflite_wgpu::Data::I32(vec![0; 128 * 128 * 3]),
        ),
    )
    .unwrap();
    refuses(
        &[f, "--mode", "int8", "--calibration", cal.to_str().unwrap()],
        &out,
        "does not match model input",
    );

    let recipe = dir.join("recipe.json");
    std::fs::write(
        &recipe,
        r#"[{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
            "op_config": {"weight_tensor_config": {"num_bits": 8, "granularity": "CHANNELWISE"},
            "activation_tensor_config": {"num_bits": 8}, "wat": 1}}]"#,
    )
    .unwrap();
    refuses(
        &[
            f,
            "--mode",
            "int8",
            "--calibration-random",
            "2",
            "--recipe",
            recipe.to_str().unwrap(),
        ],
        &out,
        "op_config.wat",
    );
    refuses(
        &[f, "--mode", "fp16", "--keep-float", "100000"],
        &out,
        "the model has",
    );
    assert_eq!(
        std::fs::read(&float).unwrap(),
        before,
        "the input model changed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn kept_nodes_stay_float_in_int8() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let float = shared.join("models/gen/mobilenet_v2_035_128_fp32.tflite");
    let dir = scratch("keep");
    let mut options = QuantizeOptions::new(Mode::Int8);
    options.calibration = Calibration::Random(2);
    options.per_layer = true;
    let recipe = Recipe::parse(
        r#"[{"regex": ".*", "operation": "FULLY_CONNECTED", "algorithm_key": "no_quantize"}]"#,
        "inline",
    )
    .unwrap();
    options.keep_float = KeepFloat {
        nodes: vec![0],
        ops: vec!["mean".into()],
        ..Default::default()
    };
    options.recipe = Some(recipe);
    let out = dir.join("keep.tflite");
    let report = quantize::quantize_file(&float, &out, &options).unwrap();
    let kept: Vec<&str> = report
        .float_nodes
        .iter()
        .map(|(_, op, _)| op.as_str())
        .collect();
    assert_eq!(
        kept,
        ["CONV_2D", "MEAN", "FULLY_CONNECTED"],
        "{}",
        report.text()
    );
    assert!(report.per_layer_csv().lines().count() > 60);
    let model = Model::from_file(&out).unwrap();
    let sg = model.graph().main();
    let fc = sg
        .nodes
        .iter()
        .find(|n| n.op.name() == "FULLY_CONNECTED")
        .unwrap();
    assert_eq!(sg.tensors[fc.input(1).unwrap()].dtype, DType::F32);
    assert!(report.outputs[0].metrics.cosine > 0.9, "{}", report.text());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The quantization debugger's view: `--per-layer` has its columns (plus SNR,
/// cosine and KL divergence) with the quantized tensor's scale and zero point,
/// `--denylist-ops` and `--denylist-nodes` keep nodes float as `--keep-float`
/// does, and `--model-explorer` writes the per-node error as node data.
fn debugger_columns_denylists_and_model_explorer() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let float = shared.join("models/gen/mobilenet_v2_035_128_fp32.tflite");
    let src = Model::from_file(&float).unwrap();
    let sg = src.graph().main();
    let first_conv = sg.nodes.iter().find(|n| n.op.name() == "CONV_2D").unwrap();
    let conv_name = sg.tensors[first_conv.outputs[0]].name.clone();
    let dir = scratch("debugger");
    let (out, csv, me) = (
        dir.join("q.tflite"),
        dir.join("layers.csv"),
        dir.join("err.json"),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .arg("quantize")
        .arg(&float)
        .args(["--mode", "int8", "--calibration-random", "2"])
        .args(["--denylist-ops", "MEAN", "--denylist-nodes", &conv_name])
        .arg("--per-layer")
        .arg(&csv)
        .arg("--model-explorer")
        .arg(&me)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = std::fs::read_to_string(&csv).unwrap();
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap(),
        "node,op_name,tensor_idx,tensor_name,scale,zero_point,num_elements,stddev,\
         mean_error,max_abs_error,mean_squared_error,snr_db,cosine,kl_divergence"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| {
            // The tensor name is quoted and may hold commas.
            let (head, rest) = l.split_once(",\"").unwrap();
            let (name, tail) = rest.split_once("\",").unwrap();
            let mut cells: Vec<String> = head.split(',').map(String::from).collect();
            cells.push(name.to_string());
            cells.extend(tail.split(',').map(String::from));
            cells
        })
        .collect();
    assert!(rows.len() > 60);
    let quantized = rows.iter().filter(|r| !r[4].is_empty()).count();
    assert!(
        quantized * 10 > rows.len() * 8,
        "{quantized} of {} rows have a scale",
        rows.len()
    );
    for r in &rows {
        assert_eq!(r.len(), 14, "{r:?}");
        let cosine: f64 = r[12].parse().unwrap();
        let kl: f64 = r[13].parse().unwrap();
        assert!((-1.0..=1.0 + 1e-9).contains(&cosine) && kl >= 0.0, "{r:?}");
        if !r[4].is_empty() {
            assert!(
                r[4].parse::<f32>().unwrap() > 0.0 && r[5].parse::<i64>().is_ok(),
                "{r:?}"
            );
        }
    }
    // The denylisted node and op stay float in the written file.
    let q = Model::from_file(&out).unwrap();
    let qsg = q.graph().main();
    let dtype_of = |name: &str| qsg.tensors.iter().find(|t| t.name == name).map(|t| t.dtype);
    assert_eq!(dtype_of(&conv_name), Some(DType::F32), "{conv_name}");
    let mean = qsg.nodes.iter().find(|n| n.op.name() == "MEAN").unwrap();
    assert_eq!(qsg.tensors[mean.outputs[0]].dtype, DType::F32);
    // Model Explorer node data, keyed by the float model's tensor names.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&me).unwrap()).unwrap();
    let results = doc["results"].as_object().unwrap();
    assert!(results.len() * 10 > rows.len() * 8);
    assert!(results
        .keys()
        .all(|k| sg.tensors.iter().any(|t| &t.name == k)));
    assert!(dir.join("err.cosine.json").exists() && dir.join("err.snr_db.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(shared, bad_requests_write_nothing),
        crate::case!(shared, kept_nodes_stay_float_in_int8),
        crate::case!(shared, debugger_columns_denylists_and_model_explorer),
    ]
}
