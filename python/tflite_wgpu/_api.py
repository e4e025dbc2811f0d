"""The implementation of the ``tflite_wgpu`` package; its public names are
re-exported there (see ``tflite_wgpu.__all__``)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


def _quiet_device_select() -> None:
    """Keep Mesa's Vulkan device-select layer from printing to stderr.

    The layer, an implicit Vulkan layer on Linux, orders the devices of each
    Vulkan instance by the display server's default GPU; where there is no
    usable runtime directory it prints "error: XDG_RUNTIME_DIR is invalid or
    not set in the environment." (from libwayland) for every instance. The
    delegate chooses its own adapter, so where the layer cannot reach a display
    server anyway it is turned off for this process, as the ``tflite-wgpu``
    binary does. ``NODEVICE_SELECT``, ``DRI_PRIME`` or ``MESA_VK_DEVICE_SELECT``
    set by the user keep the layer as they configure it.
    """
    if sys.platform in ("win32", "darwin", "cygwin"):
        return
    env = os.environ
    if any(k in env for k in ("NODEVICE_SELECT", "DRI_PRIME", "MESA_VK_DEVICE_SELECT")):
        return
    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    if runtime_dir and os.path.isabs(runtime_dir) and os.path.isdir(runtime_dir):
        return
    env["NODEVICE_SELECT"] = "1"


# Before the extension module opens its first Vulkan instance.
_quiet_device_select()


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


def _calibration_samples(model_path: str, calibration: Sequence[Any]) -> List[List[np.ndarray]]:
    """The calibration samples as one list of arrays per sample, checked against
    the model's inputs (ValueError naming ``calibration``)."""
    details = _native.Interpreter(model_path, "cpu", "fp32", []).input_details()
    if isinstance(calibration, np.ndarray) or not isinstance(calibration, (list, tuple)):
        raise ValueError(
            "calibration: expected a directory or a list of samples (numpy arrays, or "
            f"one sequence of arrays per sample), got {type(calibration).__name__}"
        )
    if not calibration:
        raise ValueError("calibration: the list of samples is empty")
    samples = []
    for k, sample in enumerate(calibration):
        arrays = [sample] if isinstance(sample, np.ndarray) else sample
        if not isinstance(arrays, (list, tuple)) or len(arrays) != len(details):
            raise ValueError(
                f"calibration: sample {k} is not {len(details)} array(s), one per model input"
            )
        checked = []
        for i, (x, d) in enumerate(zip(arrays, details)):
            if not isinstance(x, np.ndarray):
                raise ValueError(f"calibration: sample {k}, input {i}: not a numpy array")
            want = np.dtype(d["dtype"])
            fits = len(x.shape) == len(d["shape"]) and all(
                n == m or s == -1 for n, m, s in zip(x.shape, d["shape"], d["shape_signature"])
            )
            if x.dtype != want or not fits:
                raise ValueError(
                    f"calibration: sample {k}, input {i} ({d['name']}): {x.dtype} "
                    f"{list(x.shape)} does not match the model's {want} {list(d['shape'])}"
                )
            checked.append(x)
        samples.append(checked)
    return samples


def _write_samples(samples: List[List[np.ndarray]], directory: str) -> None:
    """Lay the samples out as ``tflite-wgpu quantize --calibration DIR`` reads
    them: one .npy per sample for a one-input model, else one directory of
    ``input_<i>.npy`` per sample."""
    for k, sample in enumerate(samples):
        if len(sample) == 1:
            np.save(os.path.join(directory, f"sample_{k:06d}.npy"), sample[0])
            continue
        sub = os.path.join(directory, f"sample_{k:06d}")
        os.mkdir(sub)
        for i, x in enumerate(sample):
            np.save(os.path.join(sub, f"input_{i}.npy"), x)


def quantize(
    src: PathLike,
    dst: PathLike,
    mode: Optional[str] = None,
    calibration: Union[PathLike, Sequence[Any], None] = None,
    recipe: Union[PathLike, Dict[str, Any], None] = None,
    keep_float: Union[str, int, Sequence[Union[str, int]], None] = None,
    *,
    calibration_random: Optional[int] = None,
    io: str = "float",
    percentile: float = 100.0,
) -> Dict[str, Any]:
    """Quantize the float model ``src`` into ``dst`` as ``tflite-wgpu quantize``
    does, and return the report its ``--json`` prints: ``mode``, sizes, per
    output errors against the float model, the nodes left float.

    ``mode`` is one of the command line's ``--mode`` values (``fp16``,
    ``weight-int8``, ``dynamic-int8``, ``int8``, ``int16x8``); with a ``recipe`` it is
    the default of the ops no recipe entry matches, and may be left out (those
    ops then stay float). ``calibration`` (needed by ``int8``, ``int16x8`` and by a recipe's
    static entries) is a directory as ``--calibration`` reads it, or a list of
    samples: numpy arrays for a one-input model, else one sequence of arrays
    (one per input) per sample; ``calibration_random=N`` calibrates on N seeded
    random samples instead. ``recipe`` is an AI Edge Quantizer recipe, a JSON
    file or the parsed list/dict: per op type and output name, what is quantized
    and how (static, dynamic or weight-only; int8 or int4 weights per tensor, per
    channel or in blocks; see docs/cli.md). ``keep_float`` names what stays float: node
    indices, op types (``"SOFTMAX"``), output-name regexes (``"re:..."``) or a
    precision plan file. ``io`` is the full-integer model's interface
    (``float``; ``int8`` or ``uint8`` for ``int8``, ``int16`` for ``int16x8``).

    ``src`` is never modified, and nothing is written to ``dst`` when a step
    fails. Raises ValueError naming the argument for a bad argument,
    FileNotFoundError for a missing file.
    """
    src_path = _path_arg("src", src)
    dst_path = _path_arg("dst", dst)
    if not os.path.isfile(src_path):
        raise FileNotFoundError(f"src: no such model file: {src_path}")
    if os.path.exists(dst_path) and os.path.samefile(src_path, dst_path):
        raise ValueError("dst: is the source model, which is never overwritten")
    if mode is None and recipe is None:
        raise ValueError("mode: give a mode, a recipe, or both")
    if mode is not None and not isinstance(mode, str):
        raise ValueError(f"mode: expected a string, got {type(mode).__name__}")
    if not isinstance(io, str):
        raise ValueError(f"io: expected a string, got {type(io).__name__}")
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)):
        raise ValueError(f"percentile: expected a number, got {type(percentile).__name__}")
    flags = ["--io", io, "--percentile", repr(float(percentile))]
    if mode is not None:
        flags = ["--mode", mode] + flags
    if calibration_random is not None:
        if calibration is not None:
            raise ValueError("calibration_random: give calibration or calibration_random, not both")
        if isinstance(calibration_random, bool) or not isinstance(calibration_random, int):
            raise ValueError("calibration_random: expected a number of samples")
        if calibration_random < 1:
            raise ValueError("calibration_random: expected at least one sample")
        flags += ["--calibration-random", str(calibration_random)]
    if keep_float is not None:
        items = [keep_float] if isinstance(keep_float, (str, int)) else keep_float
        if not isinstance(items, (list, tuple, set, frozenset, range)) or not all(
            isinstance(k, (str, int)) and not isinstance(k, bool) for k in items
        ):
            raise ValueError("keep_float: expected node indices, op types or name regexes")
        if any("," in str(k) or not str(k) for k in items):
            raise ValueError("keep_float: an empty item, or one with a comma")
        if items:
            flags += ["--keep-float", ",".join(str(k) for k in items)]
    with tempfile.TemporaryDirectory(prefix="tflite-wgpu-") as tmp:
        if recipe is not None:
            if isinstance(recipe, (dict, list)):
                path = os.path.join(tmp, "recipe.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(recipe, f)
            else:
                path = _path_arg("recipe", recipe)
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"recipe: no such file: {path}")
            flags += ["--recipe", path]
        if calibration is not None:
            if isinstance(calibration, (str, os.PathLike)):
                path = os.fspath(calibration)
                if not os.path.isdir(path):
                    raise FileNotFoundError(f"calibration: no such directory: {path}")
            else:
                path = os.path.join(tmp, "calibration")
                os.mkdir(path)
                _write_samples(_calibration_samples(src_path, calibration), path)
            flags += ["--calibration", path]
        return json.loads(_native.quantize_json(src_path, dst_path, flags))


def _path_arg(name: str, value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name}: expected a path, got {type(value).__name__}")
    return os.fspath(value)
