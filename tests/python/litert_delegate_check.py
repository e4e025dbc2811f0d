"""Runs LiteRT with the tflite-wgpu external delegate over the golden models.

Usage: litert_delegate_check.py --lib libtflite_wgpu.so --shared DIR
           [--precision fp32|fp16] [--expected plan.json] [--filter SUBSTR]
           [--repeat MODEL] [--cycles MODEL] [--bad-options] [--report out.json]

Checks, each failing the run (exit status 1) with a message:
- every golden model's outputs match the goldens within docs/precision.md's tolerance
  (fp32 or fp16; integer outputs within 1), non-delegated ops on LiteRT's CPU;
- the delegate claims as many prepared nodes as the crate's plan (--expected);
- real models (models/real) are delegated whole: one DELEGATE op;
- --repeat: 100 invokes give identical outputs, and each input the kernels are
  handed crosses the host once (the library's input copy counter);
- --cycles: 50 interpreter create/destroy cycles grow neither RSS (beyond a
  small allowance) nor the delegate's live GPU bytes;
- --bad-options: unknown keys and bad values raise ValueError with our message.
"""

import argparse
import ctypes
import gc
import json
import os
import sys
import time

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType, load_delegate
    RUNTIME = "ai-edge-litert"
except ImportError:  # tflite-runtime wheels
    from tflite_runtime.interpreter import Interpreter, OpResolverType, load_delegate
    RUNTIME = "tflite-runtime"

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg, flush=True)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Lib:
    """The delegate library's own counters, read through ctypes (same handle as
    load_delegate's, so the same process-wide state)."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.tflite_wgpu_live_gpu_bytes.restype = ctypes.c_uint64
        self.lib.tflite_wgpu_live_kernels.restype = ctypes.c_uint64
        self.lib.tflite_wgpu_prepare_count.restype = ctypes.c_uint64

    def input_copies(self):
        """(input tensors the delegate kernels were handed, host copies made of
        their elements) since the library was loaded."""
        out = (ctypes.c_uint64 * 2)()
        self.lib.tflite_wgpu_input_copies(out)
        return int(out[0]), int(out[1])

    def live_gpu_bytes(self):
        return int(self.lib.tflite_wgpu_live_gpu_bytes())

    def live_kernels(self):
        return int(self.lib.tflite_wgpu_live_kernels())

    def prepares(self):
        """Stats of each Prepare since the last delegate was created: the primary
        subgraph first, then control-flow bodies."""
        result = []
        for i in range(int(self.lib.tflite_wgpu_prepare_count())):
            out = (ctypes.c_uint64 * 4)()
            self.lib.tflite_wgpu_prepare_stats(ctypes.c_uint64(i), out)
            result.append({
                "prepared_nodes": out[0],
                "prepared_nodes_claimed": out[1],
                "runtime_nodes_claimed": out[2],
                "partitions": out[3],
            })
        return result


def goldens(shared, filt):
    root = os.path.join(shared, "goldens")
    for name in sorted(os.listdir(root)):
        if filt and filt not in name:
            continue
        d = os.path.join(root, name)
        with open(os.path.join(d, "manifest.json")) as f:
            m = json.load(f)
        for sub in ("gen", "real"):
            p = os.path.join(shared, "models", sub, m["model"])
            if os.path.exists(p):
                yield name, p, sub, d, m
                break


def make(model, lib, options):
    d = load_delegate(lib, options)
    it = Interpreter(
        model_path=model,
        experimental_delegates=[d],
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
    )
    it.allocate_tensors()
    return it, d


def run(it, inputs):
    for det, x in zip(it.get_input_details(), inputs):
        it.set_tensor(det["index"], x)
    it.invoke()
    return [it.get_tensor(det["index"]).copy() for det in it.get_output_details()]


def check_outputs(name, got, want, stats, fp16):
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            fail(f"{name} output {i}: shape {g.shape} vs golden {w.shape}")
            continue
        if np.issubdtype(w.dtype, np.floating):
            xnn = stats[i].get("xnnpack_vs_ref_max_abs", 0.0) or 0.0
            ref = stats[i].get("ref_max_abs", 0.0) or 0.0
            if fp16:
                # docs/precision.md: fp16 is never judged stricter than fp32.
                tol = max(2e-2 * max(1.0, ref), 1e-4 * max(1.0, ref) + 4 * xnn)
                if not np.all(np.isfinite(g)):
                    fail(f"{name} output {i}: non-finite values at fp16")
                    continue
            else:
                tol = 1e-4 * max(1.0, ref) + 4 * xnn
            d = float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))) if g.size else 0.0
        else:
            tol = 1
            d = float(np.max(np.abs(g.astype(np.int64) - w.astype(np.int64)))) if g.size else 0.0
        if not d <= tol:
            fail(f"{name} output {i}: max|d| {d:.3g} > tolerance {tol:.3g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    ap.add_argument("--expected")
    ap.add_argument("--filter", default="")
    ap.add_argument("--repeat")
    ap.add_argument("--cycles")
    ap.add_argument("--bad-options", action="store_true")
    ap.add_argument("--report")
    a = ap.parse_args()
    lib = Lib(a.lib)
    fp16 = a.precision == "fp16"
    options = {"is_precision_loss_allowed": "1" if fp16 else "0"}
    expected = {}
    if a.expected:
        with open(a.expected) as f:
            expected = json.load(f)
    report = {"runtime": RUNTIME, "precision": a.precision, "models": {}}
    t0 = time.time()
    count = 0
    for name, model, sub, d, m in goldens(a.shared, a.filter):
        count += 1
        t = time.time()
        inputs = [np.load(os.path.join(d, f"input_{i}.npy")) for i in range(len(m["inputs"]))]
        want = [np.load(os.path.join(d, f"output_{i}.npy")) for i in range(len(m["outputs"]))]
        try:
            it, dg = make(model, a.lib, options)
            prepares = lib.prepares()
            ops = it._get_ops_details()
            got = run(it, inputs)
        except Exception as e:  # noqa: BLE001 - any failure is reported per model
            fail(f"{name}: {type(e).__name__}: {e}")
            continue
        # _get_ops_details lists the primary subgraph's nodes, then the delegate
        # kernels the runtime appended; the replaced nodes no longer run.
        kernels = [o for o in ops if o["op_name"] == "DELEGATE"]
        if not prepares:
            fail(f"{name}: the delegate's Prepare did not run")
            continue
        stats = prepares[0]
        original = len(ops) - stats["partitions"]
        on_cpu = original - stats["runtime_nodes_claimed"]
        report["models"][name] = dict(stats, model_nodes=original, subgraphs=len(prepares),
                                      delegate_ops=len(kernels),
                                      cpu_nodes=on_cpu, seconds=round(time.time() - t, 3))
        if name in expected and stats["prepared_nodes_claimed"] != expected[name]:
            fail(f"{name}: delegate took {stats['prepared_nodes_claimed']} prepared nodes, "
                 f"the crate's plan has {expected[name]} on the GPU")
        if len(kernels) != stats["partitions"]:
            fail(f"{name}: {len(kernels)} DELEGATE ops for {stats['partitions']} partitions")
        if sub == "real":
            outs = {int(t) for k in kernels for t in k["outputs"]}
            graph_outs = {o["index"] for o in it.get_output_details()}
            if len(kernels) != 1 or on_cpu != 0 or not graph_outs <= outs:
                fail(f"{name}: real model not delegated whole: {len(kernels)} delegate "
                     f"kernels, {on_cpu} nodes left on the CPU")
        check_outputs(name, got, want, m["outputs"], fp16)
        del it, dg
    report["goldens"] = count
    report["goldens_seconds"] = round(time.time() - t0, 2)
    print(f"{count} goldens at {a.precision} in {report['goldens_seconds']} s", flush=True)
    if count == 0:
        fail("no golden models found")

    if a.repeat:
        for name, model, _, d, m in goldens(a.shared, a.repeat):
            inputs = [np.load(os.path.join(d, f"input_{i}.npy")) for i in range(len(m["inputs"]))]
            it, dg = make(model, a.lib, options)
            first = run(it, inputs)
            handed0, copies0 = lib.input_copies()
            for k in range(99):
                again = run(it, inputs)
                if any(not np.array_equal(x, y) for x, y in zip(first, again)):
                    fail(f"{name}: invoke {k + 2} differs from the first")
                    break
            handed, copies = (n - n0 for n, n0 in zip(lib.input_copies(), (handed0, copies0)))
            report["repeat"] = {"model": name, "invokes": 100, "inputs_handed": handed,
                                "input_host_copies": copies}
            if handed < 99 or copies != handed:
                fail(f"{name}: {copies} host copies of {handed} inputs handed to the "
                     "delegate over 99 invokes, not one each")
            del it, dg
            break

    if a.cycles:
        for name, model, _, d, m in goldens(a.shared, a.cycles):
            inputs = [np.load(os.path.join(d, f"input_{i}.npy")) for i in range(len(m["inputs"]))]
            for _ in range(3):  # warm up allocators and the pipeline cache
                it, dg = make(model, a.lib, options)
                run(it, inputs)
                del it, dg
                gc.collect()
            rss0, gpu0, k0 = rss_kib(), lib.live_gpu_bytes(), lib.live_kernels()
            peak_gpu = 0
            t = time.time()
            for _ in range(50):
                it, dg = make(model, a.lib, options)
                run(it, inputs)
                peak_gpu = max(peak_gpu, lib.live_gpu_bytes())
                del it, dg
                gc.collect()
            rss1, gpu1, k1 = rss_kib(), lib.live_gpu_bytes(), lib.live_kernels()
            report["cycles"] = {"model": name, "cycles": 50, "rss_kib_before": rss0,
                                "rss_kib_after": rss1, "gpu_bytes_before": gpu0,
                                "gpu_bytes_after": gpu1, "gpu_bytes_peak": peak_gpu,
                                "kernels_after": k1, "seconds": round(time.time() - t, 2)}
            print("cycles:", json.dumps(report["cycles"]), flush=True)
            if gpu1 != gpu0 or k1 != k0 or peak_gpu == 0:
                fail(f"cycles: live GPU bytes {gpu0} -> {gpu1} (peak {peak_gpu}), kernels {k0} -> {k1}")
            if rss1 - rss0 > 16 * 1024:
                fail(f"cycles: RSS grew from {rss0} KiB to {rss1} KiB over 50 cycles")
            break

    if a.bad_options:
        for opts, needle in [({"no_such_option": "1"}, "unknown option"),
                             ({"is_precision_loss_allowed": "maybe"}, "is_precision_loss_allowed"),
                             ({"backend": "cuda"}, "backend"),
                             ({"fp32_nodes": "1,x"}, "fp32_nodes")]:
            try:
                load_delegate(a.lib, opts)
                fail(f"options {opts} were accepted")
            except ValueError as e:
                if needle not in str(e):
                    fail(f"options {opts}: ValueError without our message: {e}")

    report["failures"] = FAILURES
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1)
    print(f"{len(FAILURES)} failures ({RUNTIME}, {a.precision})", flush=True)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
