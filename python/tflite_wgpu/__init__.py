"""tflite-wgpu: a GPU delegate for TensorFlow Lite / LiteRT models on wgpu.

Three ways in:

- With LiteRT, one extra line::

      from ai_edge_litert.interpreter import Interpreter
      import tflite_wgpu
      it = Interpreter("model.tflite",
                       experimental_delegates=[tflite_wgpu.load_delegate(precision="fp16")])

- Without LiteRT: ``tflite_wgpu.Interpreter("model.tflite").run([x])``.
- Checking a model: ``tflite_wgpu.validate(path)`` compares the GPU with the CPU
  reference; ``tflite_wgpu.inspect(path)`` shows ops, tensors and the plan.

``library_path()`` is the delegate library itself, for C++ hosts and
``--external_delegate_path``.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native

__version__: str = _native.__version__

__all__ = [
    "Interpreter",
    "delegate_options",
    "inspect",
    "library_path",
    "load_delegate",
    "validate",
]

PathLike = Union[str, "os.PathLike[str]"]


def library_path() -> str:
    """The path of the delegate library: a shared object that exports LiteRT's
    external delegate C ABI (``tflite_plugin_create_delegate``,
    ``tflite_plugin_destroy_delegate``).

    Pass it to ``load_delegate`` of any LiteRT / TensorFlow Lite Python package,
    to ``--external_delegate_path`` of the benchmark tools, or ``dlopen`` it from
    C/C++.
    """
    return os.path.abspath(_native.__file__)


def _option_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple, set, frozenset, range)):
        return ",".join(str(v) for v in value)
    return str(value)


def _option_pairs(options: Dict[str, Any]) -> List[tuple]:
    return [(k, _option_value(v)) for k, v in options.items() if v is not None]


def delegate_options(precision: str = "fp32", **options: Any) -> Dict[str, str]:
    """Check delegate options and return them as the strings LiteRT passes to
    the delegate.

    ``precision`` is ``"fp32"`` or ``"fp16"`` (f16 storage and math where the
    adapter supports it). Other keywords are the delegate's keys: ``backend``
    (auto, vulkan, metal, dx12, gl), ``power_preference`` (low_power,
    high_performance, default), ``fp32_nodes`` (node indices, a list or a
    comma-separated string), ``max_delegated_partitions``,
    ``min_nodes_per_partition``. Booleans become ``"1"``/``"0"``, lists
    comma-separated strings; ``None`` leaves a key out.

    Raises ValueError naming the key for an unknown key or a bad value.
    """
    return dict(_native.delegate_options(precision, _option_pairs(options)))


def _litert_load_delegate():
    try:
        from ai_edge_litert.interpreter import load_delegate
    except ImportError:
        pass
    else:
        return load_delegate
    try:
        from tflite_runtime.interpreter import load_delegate
    except ImportError:
        pass
    else:
        return load_delegate
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError(
            "tflite_wgpu.load_delegate needs a LiteRT runtime: "
            "pip install ai-edge-litert (or tflite-runtime, or tensorflow)"
        ) from None
    return tf.lite.experimental.load_delegate


def load_delegate(precision: str = "fp32", **options: Any) -> Any:
    """The tflite-wgpu GPU delegate for LiteRT's Interpreter::

        from ai_edge_litert.interpreter import Interpreter
        it = Interpreter(model_path, experimental_delegates=[load_delegate()])

    Supported partitions of the model run on the GPU, the rest on LiteRT's CPU
    kernels. The options are those of :func:`delegate_options` and are checked
    before LiteRT loads the library: a bad key or value raises ValueError naming
    it. The delegate comes from ``ai_edge_litert`` when installed, otherwise
    from ``tflite_runtime`` or ``tensorflow.lite``; use it with that package's
    Interpreter. LiteRT raises ValueError when no GPU adapter is usable. A
    software adapter (Mesa's lavapipe, SwiftShader, WARP) is taken, with a
    RuntimeWarning: it is a CPU rasterizer, slower than LiteRT's CPU kernels.

    The delegate writes its plan after each prepare to ``report`` (a path; a
    temporary file when not given), and the returned object's ``report()``
    reads it back: the dict of ``inspect(...)`` for the graph LiteRT handed over
    (``nodes``, ``partitions`` with their precision, ``fallback`` with the
    reason each node stays with LiteRT, ``promoted_fp32_nodes``) plus
    ``adapter``, ``precision``, ``claimed_nodes`` (LiteRT's node indices) and
    ``subgraph_reports`` (other subgraphs, such as WHILE bodies). It is None
    before an Interpreter has used the delegate.
    """
    report_path = options.pop("report", None)
    owned = report_path is None
    if owned:
        fd, report_path = tempfile.mkstemp(prefix="tflite-wgpu-report-", suffix=".json")
        os.close(fd)
        os.unlink(report_path)
    report_path = os.fspath(report_path)
    opts = delegate_options(precision, report=report_path, **options)
    delegate = _litert_load_delegate()(library_path(), opts)
    software = _native.software_adapter(list(opts.items()))
    if software is not None:
        warnings.warn(
            f"tflite-wgpu: the delegate runs on a software adapter ({software}), "
            "slower than a CPU runtime",
            RuntimeWarning,
            stacklevel=2,
        )
    try:
        delegate.report = _ReportReader(report_path, owned)
    except AttributeError:  # a delegate class with __slots__: wrap it
        delegate = _ReportingDelegate(delegate, _ReportReader(report_path, owned))
    return delegate


class _ReportReader:
    """``delegate.report()``: the delegate's report file, parsed."""

    def __init__(self, path: str, owned: bool) -> None:
        self.path = path
        self._owned = owned

    def __call__(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def __del__(self) -> None:
        if self._owned:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class _ReportingDelegate:
    """A LiteRT delegate with ``report()``; everything else is the delegate's."""

    def __init__(self, delegate: Any, reader: _ReportReader) -> None:
        self._delegate = delegate
        self.report = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._delegate, name)


_QUANT_EMPTY = (0.0, 0)


def _details(raw: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for d in raw:
        scales = np.asarray(d["scales"], dtype=np.float32)
        zero_points = np.asarray(d["zero_points"], dtype=np.int32)
        quant = (float(scales[0]), int(zero_points[0])) if len(scales) == 1 else _QUANT_EMPTY
        out.append(
            {
                "name": d["name"],
                "index": d["index"],
                "shape": np.asarray(d["shape"], dtype=np.int32),
                "shape_signature": np.asarray(d["shape_signature"], dtype=np.int32),
                "dtype": np.dtype(d["dtype"]).type,
                "quantization": quant,
                "quantization_parameters": {
                    "scales": scales,
                    "zero_points": zero_points,
                    "quantized_dimension": d["quantized_dimension"],
                },
            }
        )
    return out


class Interpreter:
    """Run a .tflite model without LiteRT: supported partitions on the GPU, the
    rest on the crate's CPU kernels (which match LiteRT's reference kernels).

    ``device`` is ``"auto"`` (the GPU when an adapter exists; otherwise a
    RuntimeWarning and the CPU), ``"gpu"`` (RuntimeError without an adapter) or
    ``"cpu"``. ``precision`` is ``"fp32"`` or ``"fp16"``. Other keywords are the
    delegate options of :func:`delegate_options` (``backend``, ``fp32_nodes``,
    ...). Loading, compiling and running release the GIL.

    Raises ValueError for a bad argument or model, FileNotFoundError for a
    missing file, RuntimeError for device failures.
    """

    def __init__(
        self,
        model_path: PathLike,
        device: str = "auto",
        precision: str = "fp32",
        **options: Any,
    ) -> None:
        self._native = _native.Interpreter(
            os.fspath(model_path), device, precision, _option_pairs(options)
        )
        if self._native.fallback is not None:
            warnings.warn(
                f"tflite-wgpu: no usable GPU ({self._native.fallback}); running on the CPU",
                RuntimeWarning,
                stacklevel=2,
            )

    @property
    def device(self) -> str:
        """``"gpu"`` when partitions of the model run on the GPU, else ``"cpu"``."""
        return self._native.device

    def run(self, inputs: Union[np.ndarray, Sequence[np.ndarray]]) -> List[np.ndarray]:
        """Set the inputs (numpy arrays in model order, each of its input's
        dtype; a single array for a one-input model), invoke, and return the
        outputs as new numpy arrays.

        Each input is copied once into the interpreter; outputs are handed to
        numpy without a further copy.
        """
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        return self._native.run([np.asarray(x) for x in inputs])

    def input_details(self) -> List[Dict[str, Any]]:
        """One dict per input, as LiteRT's ``get_input_details``: name, index,
        shape, shape_signature, dtype, quantization, quantization_parameters."""
        return _details(self._native.input_details())

    def output_details(self) -> List[Dict[str, Any]]:
        """One dict per output, as :meth:`input_details`."""
        return _details(self._native.output_details())

    def cancel(self) -> None:
        """Stop a run in progress on another thread at the next node; that
        :meth:`run` raises RuntimeError."""
        self._native.cancel()


def validate(
    model_path: PathLike,
    precision: str = "fp16",
    inputs: Optional[Sequence[np.ndarray]] = None,
    random: int = 3,
    seed: int = 0,
    backend: str = "auto",
    per_layer: bool = False,
    fp32_nodes: Optional[Sequence[int]] = None,
    auto_mixed: bool = False,
    max_rel: float = 0.02,
    min_cosine: float = 0.999,
) -> Dict[str, Any]:
    """Compare the GPU with the CPU reference, as ``tflite-wgpu validate --json``
    does, and return that document: ``outputs`` (per output: metrics and the
    thresholds it fails), ``pass``, ``plan``, ``fallback``, ``adapter``, and
    with ``per_layer`` the per-tensor ``layers``; with ``auto_mixed`` the search
    for fp32 nodes that make every output pass (``auto_mixed``: the chosen
    ``fp32_nodes``, the ``candidates`` it measured and the ``tradeoff`` table of
    every set tried, fp32 FLOP share against worst output error).

    ``inputs`` is one array per model input (one input set); without it,
    ``random`` seeded random input sets. Raises RuntimeError without a GPU.
    """
    arrays = None if inputs is None else [np.asarray(x) for x in inputs]
    doc = _native.validate_json(
        os.fspath(model_path),
        precision,
        arrays,
        random,
        seed,
        backend,
        per_layer,
        list(fp32_nodes or []),
        auto_mixed,
        max_rel,
        min_cosine,
    )
    return json.loads(doc)


def inspect(
    model_path: PathLike,
    device: str = "auto",
    precision: str = "fp32",
    backend: str = "auto",
) -> Dict[str, Any]:
    """Ops, tensors and the execution plan of a model, as
    ``tflite-wgpu inspect --json`` prints them: ``nodes`` (op, inputs,
    outputs, device), ``tensors``, ``partitions``, ``fallback``."""
    return json.loads(_native.inspect_json(os.fspath(model_path), device, precision, backend))
