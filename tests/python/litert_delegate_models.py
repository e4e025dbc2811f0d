"""Runs whole models through LiteRT with the tflite-wgpu external delegate and
checks them against LiteRT without it.

Usage: litert_delegate_models.py --lib libtflite_wgpu.so --precision fp32|fp16
           --model NAME=PATH[,oracle=PATH][,gpu_nodes=N][,min_claimed=N]
                   [,host_custom=N][,opt_KEY=VALUE] ...
           [--resize NAME] [--out results.json]

For each model (random inputs, seeded):
- LiteRT alone (reference kernels) gives the expected outputs; the oracle file
  stands in when LiteRT alone cannot run the model (a custom op it has no
  kernel for); LiteRT's default (XNNPACK) kernels give the spread between two
  correct float implementations;
- LiteRT with the delegate (``load_delegate(lib, {..., "report": PATH})``)
  must match within DESIGN.md's tolerances (fp32: 1e-4 * max(1, |ref|max) +
  4 * spread; fp16: max(2e-2 * max(1, |ref|max), the fp32 one), finite);
- the report the delegate wrote must show it took the model: claimed runtime
  nodes (at least min_claimed), as many prepared nodes on the GPU as the crate's
  own plan (gpu_nodes), one DELEGATE op per GPU partition in LiteRT's op list,
  and every node it left to LiteRT listed with a reason. A run where LiteRT ran
  everything itself fails.
- host_custom=N: N custom ops LiteRT has no kernel for run in the delegate on
  the crate's reference kernels (opt_KEY=VALUE passes a delegate option, e.g.
  opt_min_nodes_per_partition=3 keeps a small partition off the GPU);
- --resize NAME: the model's batch is resized to 2 after delegation; it must
  still match LiteRT alone, and the report must show every GPU partition
  prepared again (on the GPU) for the new shapes.
Exit status 1 on any failure, with one line per failure.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from ai_edge_litert.interpreter import Interpreter, OpResolverType, load_delegate

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg, flush=True)


def parse_model(spec):
    name, rest = spec.split("=", 1)
    parts = rest.split(",")
    m = {"name": name, "path": parts[0]}
    for p in parts[1:]:
        k, v = p.split("=", 1)
        m[k] = v
    return m


def inputs_for(it, batch=None, seed=0):
    rng = np.random.default_rng(seed)
    xs = []
    for d in it.get_input_details():
        shape = list(d["shape"])
        if batch is not None:
            shape[0] = batch
        if np.issubdtype(d["dtype"], np.floating):
            # Images (3 channels) in the 0..255 range Keras applications expect.
            hi = 255.0 if shape[-1] == 3 and len(shape) == 4 else 1.0
            lo = 0.0 if hi > 1 else -1.0
            xs.append(rng.uniform(lo, hi, shape).astype(d["dtype"]))
        else:
            xs.append(rng.integers(0, 8, shape).astype(d["dtype"]))
    return xs


def run(it, xs, resize=False):
    if resize:
        for d, x in zip(it.get_input_details(), xs):
            it.resize_tensor_input(d["index"], list(x.shape))
        it.allocate_tensors()
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def litert_alone(path, xs, resolver, resize=False):
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return run(it, xs, resize)


def compare(name, got, want, xnn, fp16):
    worst = 0.0
    for i, (g, w, x) in enumerate(zip(got, want, xnn)):
        if g.shape != w.shape:
            fail(f"{name} output {i}: shape {g.shape}, LiteRT alone gives {w.shape}")
            continue
        if not np.issubdtype(w.dtype, np.floating):
            d = float(np.max(np.abs(g.astype(np.int64) - w.astype(np.int64)))) if g.size else 0.0
            if d > 1:
                fail(f"{name} output {i}: max|d| {d} > 1")
            continue
        ref = float(np.max(np.abs(w))) if w.size else 0.0
        spread = float(np.max(np.abs(x.astype(np.float64) - w))) if w.size else 0.0
        tol = 1e-4 * max(1.0, ref) + 4 * spread
        if fp16:
            tol = max(2e-2 * max(1.0, ref), tol)
            if not np.all(np.isfinite(g)):
                fail(f"{name} output {i}: non-finite values at fp16")
                continue
        d = float(np.max(np.abs(g.astype(np.float64) - w))) if g.size else 0.0
        worst = max(worst, d / tol if tol > 0 else d)
        if not d <= tol:
            fail(f"{name} output {i}: max|d| {d:.3g} > tolerance {tol:.3g} (|ref|max {ref:.3g})")
    return worst


def check_report(name, rep, it, m):
    if not isinstance(rep, dict):
        fail(f"{name}: the delegate wrote no report")
        return {}
    claimed = rep.get("claimed_nodes", [])
    gpu = [n for n in rep.get("nodes", []) if n.get("device") == "gpu"]
    gpu_parts = [p for p in rep.get("partitions", []) if p.get("device") == "gpu"]
    host_parts = [p for p in rep.get("partitions", []) if p.get("device") == "delegate-cpu"]
    ops = it._get_ops_details()
    kernels = [o for o in ops if o["op_name"] == "DELEGATE"]
    summary = {"claimed_runtime_nodes": len(claimed), "gpu_prepared_nodes": len(gpu),
               "prepared_nodes": len(rep.get("nodes", [])), "gpu_partitions": len(gpu_parts),
               "delegate_ops": len(kernels), "host_custom": len(host_parts),
               "original_nodes": rep.get("original_nodes"),
               "adapter": rep.get("adapter"), "precision": rep.get("precision"),
               "fallback": sorted({f["op"] for f in rep.get("fallback", [])}),
               "subgraph_reports": [len(s.get("claimed_nodes", []))
                                    for s in rep.get("subgraph_reports", [])]}
    if not claimed:
        fail(f"{name}: the delegate claimed no node (LiteRT ran everything itself)")
    if len(claimed) < int(m.get("min_claimed", 1)):
        fail(f"{name}: the delegate claimed {len(claimed)} runtime nodes, "
             f"expected at least {m['min_claimed']}")
    if "gpu_nodes" in m and len(gpu) != int(m["gpu_nodes"]):
        fail(f"{name}: {len(gpu)} prepared nodes on the GPU, the crate's own plan has "
             f"{m['gpu_nodes']}")
    if len(kernels) != len(gpu_parts) + len(host_parts):
        fail(f"{name}: {len(kernels)} DELEGATE ops in LiteRT for {len(gpu_parts)} GPU "
             f"partitions and {len(host_parts)} custom ops on the delegate's CPU kernels")
    if "host_custom" in m and len(host_parts) != int(m["host_custom"]):
        fail(f"{name}: {len(host_parts)} custom ops on the delegate's CPU kernels, "
             f"expected {m['host_custom']}")
    on_gpu = {i for n in gpu for i in [n["index"]]}
    for n in rep.get("nodes", []):
        if n["index"] not in on_gpu and not any(f["node"] == n["index"]
                                               for f in rep.get("fallback", [])):
            fail(f"{name}: prepared node {n['index']} ({n['op']}) left to LiteRT without a reason")
    # LiteRT lists the graph's own nodes, then the delegate kernels it appended.
    if rep.get("original_nodes") != len(ops) - len(kernels):
        fail(f"{name}: LiteRT lists {len(ops) - len(kernels)} nodes of its own, the report "
             f"read {rep.get('original_nodes')}")
    for k in kernels:
        if len(k["outputs"]) == 0:
            fail(f"{name}: a DELEGATE op without outputs")
    if rep.get("precision") != ("fp16" if m["fp16"] else "fp32"):
        fail(f"{name}: report precision {rep.get('precision')}")
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--resize", action="append", default=[])
    ap.add_argument("--out")
    a = ap.parse_args()
    fp16 = a.precision == "fp16"
    results = {}
    tmp = tempfile.mkdtemp(prefix="tflite-wgpu-report-")
    for spec in a.model:
        m = parse_model(spec)
        m["fp16"] = fp16
        name = m["name"]
        oracle = m.get("oracle", m["path"])
        report_path = os.path.join(tmp, name + ".json")
        try:
            probe = Interpreter(model_path=oracle)
            xs = inputs_for(probe)
            want = litert_alone(oracle, xs, OpResolverType.BUILTIN_REF)
            xnn = litert_alone(oracle, xs, OpResolverType.AUTO)
            opts = {"is_precision_loss_allowed": "1" if fp16 else "0", "report": report_path}
            opts.update({k[4:]: v for k, v in m.items() if k.startswith("opt_")})
            d = load_delegate(a.lib, opts)
            it = Interpreter(model_path=m["path"], experimental_delegates=[d],
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
            got = run(it, xs)
        except Exception as e:  # noqa: BLE001 - every failure is reported per model
            fail(f"{name}: {type(e).__name__}: {e}")
            continue
        worst = compare(name, got, want, xnn, fp16)
        try:
            with open(report_path) as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"{name}: no readable report at {report_path}: {e}")
            rep = None
        summary = check_report(name, rep, it, m)
        summary["worst_error_over_tolerance"] = round(worst, 4)
        if name in a.resize:
            try:
                xs2 = inputs_for(probe, batch=2, seed=1)
                want2 = litert_alone(oracle, xs2, OpResolverType.BUILTIN_REF, resize=True)
                xnn2 = litert_alone(oracle, xs2, OpResolverType.AUTO, resize=True)
                got2 = run(it, xs2, resize=True)
                summary["resized_worst"] = round(compare(name + " (batch 2)", got2, want2,
                                                         xnn2, fp16), 4)
                with open(report_path) as f:
                    again = json.load(f).get("reprepared", [])
                # Every GPU partition reads the batch: each prepared again on the GPU.
                summary["reprepared_partitions"] = len(again)
                if len(again) != summary["gpu_partitions"] or any(
                        r["input_shapes"][0][0] != 2 for r in again):
                    fail(f"{name} (batch 2): the report shows {len(again)} partitions "
                         f"prepared again for batch 2, expected {summary['gpu_partitions']}")
            except Exception as e:  # noqa: BLE001
                fail(f"{name} (batch 2): {type(e).__name__}: {e}")
        results[name] = summary
        print(name, json.dumps(summary), flush=True)
        del it, d
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"precision": a.precision, "models": results, "failures": FAILURES}, f,
                      indent=1)
    print(f"{len(FAILURES)} failures ({a.precision}, {len(a.model)} models)", flush=True)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
