"""The installed tflite_wgpu package: LiteRT with its delegate, the standalone
Interpreter, validate/inspect documents, the console script and its errors.

Run from a venv with the wheel, ai-edge-litert and pytest installed:
    pytest tests/python
"""

import ctypes
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import tflite_wgpu


def litert():
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        try:
            from tflite_runtime import interpreter
        except ImportError:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail("ai-edge-litert is not installed (CI=true: required)")
            pytest.skip("ai-edge-litert is not installed")
    return interpreter


def test_library_path_exports_the_delegate_abi():
    path = tflite_wgpu.library_path()
    assert os.path.isfile(path)
    lib = ctypes.CDLL(path)
    assert lib.tflite_plugin_create_delegate
    assert lib.tflite_plugin_destroy_delegate


def test_litert_with_load_delegate_matches_golden(golden, gpu):
    lite = litert()
    delegate = tflite_wgpu.load_delegate(precision="fp32")
    it = lite.Interpreter(model_path=str(golden.model), experimental_delegates=[delegate])
    it.allocate_tensors()
    ops = it._get_ops_details()
    assert [o["op_name"] for o in ops].count("DELEGATE") == 1, "the model runs whole on the GPU"
    for d, x in zip(it.get_input_details(), golden.inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    golden.check([it.get_tensor(d["index"]) for d in it.get_output_details()])


def test_load_delegate_report_on_a_dynamic_batch_keras_model(gpu, tmp_path):
    """MobileNetV3-small as the converter writes it with a dynamic batch (LiteRT
    sees dynamic-sized tensors): the delegate takes it, matches LiteRT alone,
    and ``report()`` says which nodes it claimed and what stayed with LiteRT."""
    lite = litert()
    model = str(pathlib.Path(__file__).resolve().parents[1] / "data" / "keras_mobilenet_v3_small.tflite")
    delegate = tflite_wgpu.load_delegate(precision="fp32")
    assert delegate.report() is None, "no report before an Interpreter used the delegate"
    it = lite.Interpreter(model_path=model, experimental_delegates=[delegate])
    it.allocate_tensors()
    x = np.random.default_rng(0).uniform(0, 255, it.get_input_details()[0]["shape"]).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    alone = lite.Interpreter(model_path=model)
    alone.allocate_tensors()
    alone.set_tensor(alone.get_input_details()[0]["index"], x)
    alone.invoke()
    want = alone.get_tensor(alone.get_output_details()[0]["index"])
    assert np.max(np.abs(got - want)) <= 1e-3
    report = delegate.report()
    ops = it._get_ops_details()
    kernels = [o for o in ops if o["op_name"] == "DELEGATE"]
    assert kernels, "the delegate ran"
    # LiteRT lists the graph's own nodes, then the delegate kernels it appended.
    assert report["original_nodes"] == len(ops) - len(kernels)
    assert report["claimed_nodes"]
    assert report["precision"] == "fp32" and report["adapter"]
    gpu_parts = [p for p in report["partitions"] if p["device"] == "gpu"]
    assert len(gpu_parts) == len(kernels)
    assert {"nodes", "tensors", "partitions", "fallback", "promoted_fp32_nodes"} <= set(report)
    on_gpu = sum(len(p["nodes"]) for p in gpu_parts)
    assert on_gpu >= 0.9 * len(report["nodes"]), report["fallback"]
    # A path of one's own is written too.
    mine = tmp_path / "report.json"
    d2 = tflite_wgpu.load_delegate(precision="fp16", report=str(mine))
    it2 = lite.Interpreter(model_path=model, experimental_delegates=[d2])
    it2.allocate_tensors()
    assert json.loads(mine.read_text())["precision"] == "fp16"
    assert d2.report()["claimed_nodes"] == json.loads(mine.read_text())["claimed_nodes"]


@pytest.mark.parametrize("device", ["auto", "gpu", "cpu"])
def test_interpreter_matches_golden(golden, device, request):
    if device == "gpu":
        request.getfixturevalue("gpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if device == "auto" else "error", RuntimeWarning)
        it = tflite_wgpu.Interpreter(golden.model, device=device)
    assert it.device in ("gpu", "cpu")
    if device == "cpu":
        assert it.device == "cpu"
    golden.check(it.run(list(golden.inputs)))
    # A second run on the same interpreter gives the same numbers.
    golden.check(it.run(golden.inputs[0]))


def test_a_software_adapter_is_named_and_skipped_by_auto(golden, gpu):
    """auto treats a software adapter (lavapipe) as no GPU; load_delegate takes
    it with a warning; on a hardware adapter neither warns."""
    software = ", Cpu," in tflite_wgpu.inspect(golden.model, device="gpu")["device"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tflite_wgpu.load_delegate(precision="fp32")
    named = [w for w in caught if "software adapter" in str(w.message)]
    assert len(named) == int(software), [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        it = tflite_wgpu.Interpreter(golden.model, device="auto")
    named = [w for w in caught if "software adapter" in str(w.message)]
    assert len(named) == int(software), [str(w.message) for w in caught]
    assert it.device == ("cpu" if software else "gpu")
    golden.check(it.run(golden.inputs))


def test_auto_without_adapter_warns_and_runs_on_cpu(golden):
    absent = "metal" if sys.platform.startswith("linux") else "gl"
    with pytest.warns(RuntimeWarning, match="no usable GPU"):
        it = tflite_wgpu.Interpreter(golden.model, device="auto", backend=absent)
    assert it.device == "cpu"
    golden.check(it.run(golden.inputs))
    with pytest.raises(RuntimeError, match="no usable GPU adapter"):
        tflite_wgpu.Interpreter(golden.model, device="gpu", backend=absent)


def test_interpreter_fp16_within_fp16_tolerance(golden, gpu):
    it = tflite_wgpu.Interpreter(golden.model, device="gpu", precision="fp16")
    assert it.device == "gpu"
    golden.check(it.run(golden.inputs), fp16=True)


def test_interpreter_details(golden):
    it = tflite_wgpu.Interpreter(golden.model, device="cpu")
    (i,) = it.input_details()
    assert i["name"] == golden.manifest["inputs"][0]["name"]
    assert list(i["shape"]) == golden.manifest["inputs"][0]["shape"]
    assert i["dtype"] is np.float32
    assert i["quantization"] == (0.0, 0)
    outs = it.output_details()
    assert [o["name"] for o in outs] == [o["name"] for o in golden.manifest["outputs"]]
    assert [list(o["shape"]) for o in outs] == [o["shape"] for o in golden.manifest["outputs"]]


def test_interpreter_accepts_non_contiguous_inputs(golden):
    it = tflite_wgpu.Interpreter(golden.model, device="cpu")
    x = golden.inputs[0]
    strided = np.asfortranarray(x)
    assert not strided.flags["C_CONTIGUOUS"]
    golden.check(it.run([strided]))


def test_interpreter_errors(golden, tmp_path):
    with pytest.raises(ValueError, match="device"):
        tflite_wgpu.Interpreter(golden.model, device="tpu")
    with pytest.raises(ValueError, match="precision"):
        tflite_wgpu.Interpreter(golden.model, device="cpu", precision="fp8")
    with pytest.raises(ValueError, match="backend"):
        tflite_wgpu.Interpreter(golden.model, device="cpu", backend="no-such-backend")
    with pytest.raises(FileNotFoundError):
        tflite_wgpu.Interpreter(tmp_path / "missing.tflite", device="cpu")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError):
        tflite_wgpu.Interpreter(bad, device="cpu")
    it = tflite_wgpu.Interpreter(golden.model, device="cpu")
    x = golden.inputs[0]
    with pytest.raises(ValueError, match="float32"):
        it.run([x.astype(np.float64)])
    with pytest.raises(ValueError, match="input"):
        it.run([x, x])
    with pytest.raises(ValueError, match="input 0"):
        it.run([x[:, :64]])


def test_run_releases_the_gil(golden):
    it = tflite_wgpu.Interpreter(golden.model, device="cpu")
    x = golden.inputs[0]
    runs = 8
    t = threading.Thread(target=lambda: [it.run([x]) for _ in range(runs)])
    start = time.perf_counter()
    t.start()
    ticks = 0
    while t.is_alive():
        ticks += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    if elapsed < 0.1:
        pytest.skip(f"{runs} runs took {elapsed:.3f} s: too fast to tell")
    # Holding the GIL through invoke would let this thread in only between runs.
    assert ticks > 4 * runs, f"{ticks} ticks in {elapsed:.3f} s"


def test_load_delegate_rejects_bad_options():
    with pytest.raises(ValueError, match="backend"):
        tflite_wgpu.load_delegate(backend="no-such-backend")
    with pytest.raises(ValueError, match="colour"):
        tflite_wgpu.load_delegate(colour="red")
    with pytest.raises(ValueError, match="precision"):
        tflite_wgpu.load_delegate(precision="fp64")
    with pytest.raises(ValueError, match="fp32_nodes"):
        tflite_wgpu.load_delegate(fp32_nodes=[1, "x"])


def test_delegate_options_as_strings():
    opts = tflite_wgpu.delegate_options(
        precision="fp16", fp32_nodes=[3, 5], backend="vulkan", power_preference=None
    )
    assert opts == {"is_precision_loss_allowed": "1", "fp32_nodes": "3,5", "backend": "vulkan"}


def test_validate_document(golden, gpu):
    doc = tflite_wgpu.validate(golden.model, precision="fp16", random=1)
    assert doc["precision"] == "fp16"
    assert [o["name"] for o in doc["outputs"]] == [o["name"] for o in golden.manifest["outputs"]]
    assert isinstance(doc["pass"], bool)
    given = tflite_wgpu.validate(golden.model, precision="fp32", inputs=golden.inputs)
    assert given["inputs"] == 1
    assert given["pass"] is True


def test_inspect_document(golden):
    doc = tflite_wgpu.inspect(golden.model, device="cpu")
    assert len(doc["nodes"]) > 0
    assert {n["device"] for n in doc["nodes"]} == {"cpu"}
    assert doc["tensors"][doc["inputs"][0]]["shape"] == golden.manifest["inputs"][0]["shape"]


def console_script() -> str:
    exe = pathlib.Path(sys.executable).parent / "tflite-wgpu"
    found = str(exe) if exe.exists() else shutil.which("tflite-wgpu")
    assert found, "the tflite-wgpu console script is installed with the package"
    return found


def test_console_script_inspect_json(golden):
    out = subprocess.run(
        [console_script(), "inspect", str(golden.model), "--json", "--device", "cpu"],
        check=True,
        capture_output=True,
        text=True,
    )
    doc = json.loads(out.stdout)
    assert len(doc["nodes"]) > 0
    assert doc == tflite_wgpu.inspect(str(golden.model), device="cpu")


def test_console_script_errors_exit_nonzero(tmp_path):
    out = subprocess.run(
        [console_script(), "inspect", str(tmp_path / "missing.tflite")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "missing.tflite" in out.stderr


def test_console_script_runs_every_subcommand(golden, tmp_path):
    script = console_script()
    np.save(tmp_path / "input_0.npy", golden.inputs[0])
    out_dir = tmp_path / "out"
    subprocess.run(
        [script, "run", str(golden.model), "--input", str(tmp_path / "input_0.npy"),
         "--out-dir", str(out_dir), "--device", "cpu"],
        check=True,
        capture_output=True,
    )
    golden.check([np.load(out_dir / f"output_{i}.npy") for i in range(len(golden.outputs))])
    bench = subprocess.run(
        [script, "bench", str(golden.model), "--device", "cpu", "--warmup", "0", "--runs", "1"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert bench.stdout.strip()
    for args, code in ((["--help"], 0), (["--version"], 0), (["inspect", "--no-such-flag"], 2)):
        assert subprocess.run([script, *args], capture_output=True).returncode == code, args


def test_console_script_validate_json(golden, gpu):
    out = subprocess.run(
        [console_script(), "validate", str(golden.model), "--json", "--precision", "fp32",
         "--random", "1"],
        capture_output=True,
        text=True,
    )
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    same = tflite_wgpu.validate(golden.model, precision="fp32", random=1)
    assert doc.keys() == same.keys()
    assert out.returncode == (0 if doc["pass"] else 1)
    assert doc["pass"] == same["pass"]


def test_cli_main_in_process(golden, capfd):
    from tflite_wgpu._cli import main

    assert main(["inspect", golden.model, "--json", "--device", "cpu"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc == tflite_wgpu.inspect(golden.model, device="cpu")
    assert main(["inspect", golden.model.parent / "missing.tflite"]) == 1
    assert "missing.tflite" in capfd.readouterr().err
