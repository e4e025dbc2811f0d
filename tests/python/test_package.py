"""The installed package as a library: its public names, its help text, its
version and metadata, and that it prints nothing of its own."""

import importlib.metadata
import os
import pathlib
import pydoc
import re
import subprocess
import sys

import tflite_wgpu

REPO = pathlib.Path(__file__).resolve().parents[2]
API = {
    "Interpreter",
    "delegate_options",
    "inspect",
    "library_path",
    "load_delegate",
    "quantize",
    "validate",
}


def test_public_names_are_the_api():
    public = {n for n in dir(tflite_wgpu) if not n.startswith("_")}
    assert set(tflite_wgpu.__all__) == API
    assert public == API
    for name in API:
        assert getattr(tflite_wgpu, name).__module__ == "tflite_wgpu", name


def test_help_reads_as_the_api():
    text = pydoc.render_doc(tflite_wgpu, renderer=pydoc.plaintext)
    sections = dict(re.findall(r"^([A-Z][A-Z ]+)\n((?:(?: .*)?\n)*)", text, re.M))
    listed = set(re.findall(r"^    (\w+)", sections.get("FUNCTIONS", ""), re.M))
    assert listed == API - {"Interpreter"}, sections.keys()
    assert re.search(r"^    class Interpreter", sections.get("CLASSES", ""), re.M)
    data = set(re.findall(r"^    (\w+) = ", sections.get("DATA", ""), re.M))
    assert data <= {"__all__"}, data
    for hidden in ("Any", "Dict", "json", "np", "os", "warnings", "PathLike"):
        assert not re.search(rf"^    {hidden}\b", text, re.M), hidden
    assert "VERSION" in sections and tflite_wgpu.__version__ in sections["VERSION"]


def _cargo_version() -> str:
    text = (REPO / "Cargo.toml").read_text()
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', package, re.M).group(1)


def test_version_and_metadata_come_from_the_crate():
    version = _cargo_version()
    assert tflite_wgpu.__version__ == version
    meta = importlib.metadata.metadata("tflite-wgpu")
    assert meta["Version"] == version
    assert meta["Description-Content-Type"].startswith("text/markdown")
    assert meta.get_payload() or meta["Description"], "the README is the long description"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues"} <= urls.keys(), urls
    assert meta["License"] or meta["License-Expression"]


QUIET_SCRIPT = """
import numpy as np, sys, tflite_wgpu
model = sys.argv[1]
it = tflite_wgpu.Interpreter(model, device="gpu")
x = [np.zeros(d["shape"], d["dtype"]) for d in it.input_details()]
it.run(x)
tflite_wgpu.Interpreter(model, device="cpu").run(x)
tflite_wgpu.validate(model, precision="fp16", random=1)
tflite_wgpu.inspect(model)
tflite_wgpu.delegate_options("fp16", backend="auto")
"""


def test_library_prints_nothing_without_a_runtime_dir(golden, gpu):
    """Without XDG_RUNTIME_DIR, Mesa's Vulkan device-select layer prints an
    error for every Vulkan instance unless the package turns it off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("XDG_RUNTIME_DIR", "NODEVICE_SELECT", "DRI_PRIME", "MESA_VK_DEVICE_SELECT")
    }
    out = subprocess.run(
        [sys.executable, "-c", QUIET_SCRIPT, str(golden.model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout == ""


def test_a_users_device_select_setting_is_kept():
    env = dict(os.environ, NODEVICE_SELECT="0")
    env.pop("XDG_RUNTIME_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", "import os, tflite_wgpu; print(os.environ['NODEVICE_SELECT'])"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "0", out.stderr
