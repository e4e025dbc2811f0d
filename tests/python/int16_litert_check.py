"""Runs int16x8 models in LiteRT for tests/quantize/int16.rs.

Usage: python int16_litert_check.py CASES.json

CASES.json is a list of cases, each {"name", "model", "inputs", "resolver",
"dump", "float" (optional), "converter" (optional)}: the quantized model, its
float .npy inputs (in model order, quantized to an integer input's type),
"ref" (LiteRT's reference kernels) or "builtin" (its optimized kernels without
XNNPACK), and a directory that receives every integer tensor an operator writes
as t<index>.npy (the interpreter keeps every tensor). "float" names the float
model whose outputs the quantized ones are compared with (cosine, reference
kernels); "converter" is {"out", "samples"}: the converter's own 16x8 form of
"float" is written to "out", calibrated on the .npy "samples" (TFLite's
post-training calibrator and quantizer, the path the converter takes for 16x8).

Prints one JSON object per case: {"name", "ok", "why", "int16_tensors",
"tensors" (index -> name of the dumped tensors), "opcodes" ([name, version]),
"add_pot_scale_int16" (of each ADD), "cosine" (per output, when "float" is
given), "converter_cosine", "converter_bytes", "converter_tensors" (name ->
[dtype, number of scales] of every tensor of the converter's form)}.
"""

import json
import os
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

RESOLVERS = {
    "ref": OpResolverType.BUILTIN_REF,
    "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
}
OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def to_input(x, detail):
    dtype = detail["dtype"]
    if x.dtype == dtype:
        return x
    scale, zero = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)
    return x.astype(dtype)


def real(y, detail):
    scale, zero = detail["quantization"]
    if np.issubdtype(y.dtype, np.integer) and scale:
        return (y.astype(np.float64) - zero) * scale
    return y.astype(np.float64)


def run(path, inputs, resolver, keep=False):
    it = Interpreter(
        model_path=path,
        experimental_op_resolver_type=resolver,
        experimental_preserve_all_tensors=keep,
    )
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], to_input(x, d))
    it.invoke()
    return it, [real(it.get_tensor(d["index"]), d) for d in it.get_output_details()]


def cosine(a, b):
    a, b = a.ravel(), b.ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def opcodes(path):
    """[name, version] of every operator code, and pot_scale_int16 of each ADD."""
    with open(path, "rb") as f:
        m = schema.Model.GetRootAsModel(f.read(), 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        codes.append([OP_NAMES.get(code, str(code)), oc.Version()])
    pots = []
    for s in range(m.SubgraphsLength()):
        sg = m.Subgraphs(s)
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            if codes[op.OpcodeIndex()][0] != "ADD":
                continue
            table = op.BuiltinOptions()
            if table is None:
                pots.append(True)  # the schema default
                continue
            o = schema.AddOptions()
            o.Init(table.Bytes, table.Pos)
            pots.append(bool(o.PotScaleInt16()))
    return codes, pots


def converter_16x8(float_path, samples, out):
    """The converter's 16x8 form of `float_path`, calibrated on `samples`."""
    from ai_edge_litert import _pywrap_tensorflow_lite_calibration_wrapper as cw

    with open(float_path, "rb") as f:
        content = f.read()
    c = cw.CalibrationWrapper(content, [], [])
    c.Prepare([list(samples[0].shape)])
    for s in samples:
        c.FeedTensor([s])
    f32, i16, i64 = (np.dtype(t).num for t in (np.float32, np.int16, np.int64))
    data = c.QuantizeModel(f32, f32, True, i16, i64, False, False)
    with open(out, "wb") as f:
        f.write(data)


def check(case):
    inputs = [np.load(p) for p in case["inputs"]]
    resolver = RESOLVERS[case["resolver"]]
    it, outs = run(case["model"], inputs, resolver, keep=True)
    details = it.get_tensor_details()
    os.makedirs(case["dump"], exist_ok=True)
    tensors = {}
    for op in it._get_ops_details():
        for t in op["outputs"]:
            y = it.get_tensor(t)
            if np.issubdtype(y.dtype, np.integer):
                np.save(os.path.join(case["dump"], f"t{t}.npy"), y)
                tensors[int(t)] = details[t]["name"]
    codes, pots = opcodes(case["model"])
    result = {
        "int16_tensors": sum(1 for d in details if d["dtype"] == np.int16),
        "tensors": tensors,
        "opcodes": codes,
        "add_pot_scale_int16": pots,
    }
    if case.get("float"):
        _, ref = run(case["float"], inputs, OpResolverType.BUILTIN_REF)
        result["cosine"] = [cosine(a, b) for a, b in zip(ref, outs)]
        conv = case.get("converter")
        if conv:
            samples = [np.load(p) for p in conv["samples"]]
            converter_16x8(case["float"], samples, conv["out"])
            cit, theirs = run(conv["out"], inputs, OpResolverType.BUILTIN_REF)
            result["converter_cosine"] = [cosine(a, b) for a, b in zip(ref, theirs)]
            result["converter_bytes"] = os.path.getsize(conv["out"])
            result["converter_tensors"] = {
                d["name"]: [np.dtype(d["dtype"]).name, len(d["quantization_parameters"]["scales"])]
                for d in cit.get_tensor_details()
            }
    return result


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        try:
            line = {"name": case["name"], "ok": True, "why": ""}
            line.update(check(case))
        except Exception as e:  # noqa: BLE001 - every LiteRT refusal is a finding
            line = {"name": case["name"], "ok": False, "why": f"{type(e).__name__}: {e}"}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
