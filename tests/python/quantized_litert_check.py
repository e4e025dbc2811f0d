"""Runs quantized models in LiteRT: the checks behind tests/quantize_litert.rs.

Usage: python quantized_litert_check.py CASES.json

CASES.json is a list of cases, each {"name", "mode", "float", "quantized",
"inputs"}: the float model, its quantized form and the .npy inputs (float, in the
float model's input order). Each quantized model must load and run in LiteRT with
its reference kernels (BUILTIN_REF) and with the default path (XNNPACK), giving
finite outputs; an "fp16" case must also keep a cosine of at least 0.999 to the
float model (reference kernels) on every output.

Prints one JSON object per case on stdout: {"name", "mode", "ok", "why",
"cosine"}, as soon as the case is done, so a crash names the case it stopped at.
"""

import json
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

MIN_FP16_COSINE = 0.999


def to_input(x, detail):
    """`x` (float) in the type of the input `detail` describes."""
    dtype = detail["dtype"]
    if x.dtype == dtype:
        return x
    scale, zero = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)
    return x.astype(dtype)


def real(y, detail):
    """Output `y` as float64 real values (dequantized when quantized)."""
    scale, zero = detail["quantization"]
    if np.issubdtype(y.dtype, np.integer) and scale:
        return (y.astype(np.float64) - zero) * scale
    return y.astype(np.float64)


def run(path, inputs, resolver):
    """The outputs of `path` on `inputs` as float64 arrays."""
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"{len(details)} inputs, {len(inputs)} given")
    for d, x in zip(details, inputs):
        if tuple(d["shape"]) != x.shape:
            it.resize_tensor_input(d["index"], x.shape)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], to_input(x, d))
    it.invoke()
    return [real(it.get_tensor(d["index"]), d) for d in it.get_output_details()]


def cosine(a, b):
    a, b = a.ravel(), b.ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def check(case):
    inputs = [np.load(p) for p in case["inputs"]]
    outputs = {}
    for label, resolver in (
        ("reference kernels", OpResolverType.BUILTIN_REF),
        ("default (XNNPACK)", OpResolverType.AUTO),
    ):
        try:
            outs = run(case["quantized"], inputs, resolver)
        except Exception as e:  # noqa: BLE001 - every LiteRT refusal is a finding
            return False, f"{label}: {type(e).__name__}: {e}".strip(), None
        for k, y in enumerate(outs):
            if not np.all(np.isfinite(y)):
                return False, f"{label}: output {k} is not finite", None
        outputs[label] = outs
    worst = None
    if case["mode"] == "fp16":
        ref = run(case["float"], inputs, OpResolverType.BUILTIN_REF)
        for k, (a, b) in enumerate(zip(ref, outputs["reference kernels"])):
            c = cosine(a, b)
            worst = c if worst is None else min(worst, c)
            if not c >= MIN_FP16_COSINE:
                return False, f"output {k}: cosine {c:.6f} < {MIN_FP16_COSINE}", worst
    return True, "", worst


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        ok, why, cos = check(case)
        line = {"name": case["name"], "mode": case["mode"], "ok": ok, "why": why, "cosine": cos}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
