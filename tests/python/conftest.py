"""Fixtures of the Python package's tests: the shared test data (models and
LiteRT goldens) and whether a GPU adapter is usable.

The data is found at $TFLITE_WGPU_SHARED or ../shared beside the repository.
Without it the tests that need it are skipped, except under CI=true, where
they fail.
"""

import json
import os
import pathlib

import numpy as np
import pytest

import tflite_wgpu

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = "face_detection_short_range"


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str):
    if _ci():
        pytest.fail(f"{what} (CI=true: required)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def shared() -> pathlib.Path:
    """The shared test data directory."""
    env = os.environ.get("TFLITE_WGPU_SHARED")
    path = pathlib.Path(env) if env else REPO.parent / "shared"
    if not (path / "goldens").is_dir():
        _missing(f"shared test data not found at {path} (set TFLITE_WGPU_SHARED)")
    return path


class Golden:
    """A model with LiteRT reference inputs, outputs and per-output tolerances."""

    def __init__(self, shared: pathlib.Path, name: str):
        d = shared / "goldens" / name
        self.manifest = json.loads((d / "manifest.json").read_text())
        self.model = shared / "models" / "real" / self.manifest["model"]
        if not self.model.is_file():
            self.model = shared / "models" / self.manifest["model"]
        self.inputs = [np.load(d / f"input_{i}.npy") for i in range(len(self.manifest["inputs"]))]
        self.outputs = [
            np.load(d / f"output_{i}.npy") for i in range(len(self.manifest["outputs"]))
        ]

    def check(self, got, fp16: bool = False):
        """Assert every output matches its golden within docs/precision.md's tolerance."""
        assert len(got) == len(self.outputs)
        for i, (g, want, meta) in enumerate(zip(got, self.outputs, self.manifest["outputs"])):
            assert g.shape == want.shape, f"output {i}: shape {g.shape} != {want.shape}"
            assert g.dtype == want.dtype, f"output {i}: dtype {g.dtype} != {want.dtype}"
            if np.issubdtype(want.dtype, np.floating):
                ref = max(1.0, meta["ref_max_abs"])
                tol = 1e-4 * ref + 4 * meta["xnnpack_vs_ref_max_abs"]
                if fp16:
                    tol = max(2e-2 * ref, tol)
                assert np.all(np.isfinite(g)), f"output {i}: not finite"
                d = float(np.max(np.abs(g.astype(np.float64) - want.astype(np.float64))))
            else:
                tol = 1
                d = float(np.max(np.abs(g.astype(np.int64) - want.astype(np.int64))))
            assert d <= tol, f"output {i} ({meta['name']}): max|d| {d} > {tol}"


@pytest.fixture(scope="session")
def golden(shared) -> Golden:
    """face_detection_short_range with its LiteRT goldens."""
    return Golden(shared, GOLDEN)


@pytest.fixture(scope="session")
def gpu(golden) -> bool:
    """A usable GPU adapter (lavapipe in CI); skips (fails under CI) without."""
    try:
        tflite_wgpu.Interpreter(golden.model, device="gpu")
    except RuntimeError as e:
        _missing(f"no usable GPU: {e}")
    return True
