"""Runs a model quantized by a recipe in LiteRT: the checks behind
tests/quantize/recipes.rs.

Usage: python recipe_litert_check.py CASE.json

CASE.json is {"float", "quantized", "inputs", "resolvers", "out"}: the float
model, its quantized form, the .npy inputs (float, in model input order), the
LiteRT op resolvers to run the quantized model with (names of
ai_edge_litert's OpResolverType: BUILTIN_REF for the reference kernels,
BUILTIN_WITHOUT_DEFAULT_DELEGATES for the optimized builtin kernels, AUTO for
the default path through XNNPACK) and a directory for the outputs.

The float model runs with the reference kernels. For each resolver, prints one
JSON line {"resolver", "ok", "why", "cosine"}: whether the quantized model
loaded and ran with finite outputs, and each output's cosine to the float
model's. Its outputs (real values, float32) are saved as
OUT/<resolver>.output_<k>.npy.
"""

import json
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


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
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"{len(details)} inputs, {len(inputs)} given")
    for d, x in zip(details, inputs):
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


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    inputs = [np.load(p) for p in case["inputs"]]
    ref = run(case["float"], inputs, OpResolverType.BUILTIN_REF)
    for name in case["resolvers"]:
        line = {"resolver": name, "ok": False, "why": "", "cosine": []}
        try:
            outs = run(case["quantized"], inputs, getattr(OpResolverType, name))
        except Exception as e:  # noqa: BLE001 - every LiteRT refusal is a finding
            line["why"] = f"{type(e).__name__}: {e}".strip()
            print(json.dumps(line), flush=True)
            continue
        bad = [k for k, y in enumerate(outs) if not np.all(np.isfinite(y))]
        line["ok"] = not bad
        line["why"] = f"output {bad[0]} is not finite" if bad else ""
        line["cosine"] = [cosine(a, b) for a, b in zip(ref, outs)]
        for k, y in enumerate(outs):
            np.save(os.path.join(case["out"], f"{name}.output_{k}.npy"), y.astype(np.float32))
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
