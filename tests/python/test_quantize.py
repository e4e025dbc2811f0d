"""tflite_wgpu.quantize(): the command line's quantization from Python, its
report, its argument errors, and files that run in LiteRT."""

import hashlib
import pathlib

import numpy as np
import pytest

import tflite_wgpu
from conftest import _missing

MODEL = "mobilenet_v2_035_128_fp32.tflite"


@pytest.fixture(scope="module")
def float_model(shared) -> pathlib.Path:
    path = shared / "models" / "gen" / MODEL
    if not path.is_file():
        _missing(f"{path} not found")
    return path


def _litert():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        _missing("ai-edge-litert is not installed")
    return Interpreter


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _litert_run(path: pathlib.Path, x: np.ndarray) -> np.ndarray:
    it = _litert()(model_path=str(path))
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if d["dtype"] != np.float32:
        scale, zero = d["quantization"]
        x = np.clip(np.round(x / scale) + zero, -128, 127).astype(d["dtype"])
    it.set_tensor(d["index"], x)
    it.invoke()
    o = it.get_output_details()[0]
    y = it.get_tensor(o["index"]).astype(np.float64)
    if o["dtype"] != np.float32:
        scale, zero = o["quantization"]
        y = (y - zero) * scale
    return y.ravel()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _input(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)


def test_fp16_runs_in_litert_and_src_is_untouched(float_model, tmp_path):
    before = _digest(float_model)
    out = tmp_path / "fp16.tflite"
    report = tflite_wgpu.quantize(float_model, out, mode="fp16")
    assert _digest(float_model) == before
    assert report["mode"] == "fp16"
    assert report["output_bytes"] == out.stat().st_size
    assert 0.4 < report["size_ratio"] < 0.6
    assert report["outputs"], report
    x = _input(1)
    assert _cosine(_litert_run(out, x), _litert_run(float_model, x)) > 0.999


def test_int8_with_calibration_arrays_and_keep_float(float_model, tmp_path):
    samples = [_input(k) for k in range(4)]
    out = tmp_path / "int8.tflite"
    report = tflite_wgpu.quantize(
        float_model, out, mode="int8", calibration=samples, keep_float=["FULLY_CONNECTED"]
    )
    assert report["samples"] == 4
    assert any(op == "FULLY_CONNECTED" for _, op, _ in report["float_nodes"]), report["float_nodes"]
    x = _input(9)
    assert _cosine(_litert_run(out, x), _litert_run(float_model, x)) > 0.9


def test_calibration_directory_equals_arrays(float_model, tmp_path):
    samples = [_input(k) for k in range(2)]
    d = tmp_path / "cal"
    d.mkdir()
    for k, x in enumerate(samples):
        np.save(d / f"{k}.npy", x)
    a = tflite_wgpu.quantize(float_model, tmp_path / "a.tflite", mode="int8", calibration=d)
    b = tflite_wgpu.quantize(float_model, tmp_path / "b.tflite", mode="int8", calibration=samples)
    assert (tmp_path / "a.tflite").read_bytes() == (tmp_path / "b.tflite").read_bytes()
    assert a == b


def test_a_recipe_without_a_mode_quantizes_only_what_it_selects(float_model, tmp_path):
    fc_int4 = {
        "regex": ".*",
        "operation": "FULLY_CONNECTED",
        "algorithm_key": "min_max_uniform_quantize",
        "op_config": {
            "weight_tensor_config": {"num_bits": 4, "granularity": "CHANNELWISE"},
            "compute_precision": "INTEGER",
            "explicit_dequantize": False,
        },
    }
    out = tmp_path / "fc_int4.tflite"
    report = tflite_wgpu.quantize(float_model, out, recipe=[fc_int4])
    assert report["mode"] == "recipe"
    # Only the classifier's [100, 1280] float32 weights became int4 (two a byte):
    # the file is smaller by their size, give or take the file's layout.
    saved = float_model.stat().st_size - out.stat().st_size
    assert abs(saved - (100 * 1280 * 4 - 100 * 1280 // 2)) < 4096, saved
    x = _input(7)
    assert _cosine(_litert_run(out, x), _litert_run(float_model, x)) > 0.99
    with pytest.raises(ValueError, match="^mode: "):
        tflite_wgpu.quantize(float_model, tmp_path / "neither.tflite")
    assert not (tmp_path / "neither.tflite").exists()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"mode": "int3"}, "mode"),
        ({"mode": 8}, "mode"),
        ({"mode": "int8", "io": "int4", "calibration_random": 1}, "io"),
        ({"mode": "int8", "calibration": np.zeros((1, 128, 128, 3), np.float32)}, "calibration"),
        ({"mode": "int8", "calibration": [np.zeros((1, 64, 64, 3), np.float32)]}, "calibration"),
        ({"mode": "int8", "calibration": [np.zeros((1, 128, 128, 3), np.float64)]}, "calibration"),
        ({"mode": "int8", "calibration": []}, "calibration"),
        ({"mode": "int8", "calibration_random": 0}, "calibration_random"),
        ({"mode": "int8", "calibration": [], "calibration_random": 2}, "calibration_random"),
        ({"mode": "fp16", "keep_float": [1.5]}, "keep_float"),
        ({"mode": "fp16", "recipe": 3}, "recipe"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(float_model, tmp_path, kwargs, name):
    before = _digest(float_model)
    out = tmp_path / "out.tflite"
    with pytest.raises(ValueError, match=rf"^{name}: "):
        tflite_wgpu.quantize(float_model, out, **kwargs)
    assert not out.exists()
    assert _digest(float_model) == before


def test_the_source_is_never_overwritten(float_model, tmp_path):
    copy = tmp_path / "model.tflite"
    copy.write_bytes(float_model.read_bytes())
    with pytest.raises(ValueError, match="^dst: "):
        tflite_wgpu.quantize(copy, copy, mode="fp16")
    assert copy.read_bytes() == float_model.read_bytes()
    with pytest.raises(FileNotFoundError, match="^src: "):
        tflite_wgpu.quantize(tmp_path / "missing.tflite", tmp_path / "o.tflite", mode="fp16")
    with pytest.raises(ValueError, match="^src: "):
        tflite_wgpu.quantize(None, tmp_path / "o.tflite", mode="fp16")


def test_int16x8_runs_in_litert_with_int16_activations(float_model, tmp_path):
    out = tmp_path / "int16x8.tflite"
    report = tflite_wgpu.quantize(float_model, out, mode="int16x8", calibration_random=4)
    assert report["mode"] == "int16x8"
    assert report["float_nodes"] == []
    it = _litert()(model_path=str(out))
    it.allocate_tensors()
    int16 = [d for d in it.get_tensor_details() if d["dtype"] == np.int16]
    assert len(int16) > 10
    assert all(d["quantization"][1] == 0 for d in int16)
    x = _input(3)
    assert _cosine(_litert_run(out, x), _litert_run(float_model, x)) > 0.95
    with pytest.raises(ValueError, match="--io int8"):
        tflite_wgpu.quantize(float_model, tmp_path / "io.tflite", mode="int16x8", io="int8",
                             calibration_random=1)
    assert not (tmp_path / "io.tflite").exists()
