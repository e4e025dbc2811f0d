"""LiteRT on the CPU next to our CPU interpreter, side by side in one run.

For each model, rounds alternate between LiteRT's builtin kernels on one thread
(the reference the CPU interpreter matches) and `tflite-wgpu bench --device cpu
--json` (the CPU path, which runs on one thread), so that load on a shared machine
hits both alike. Each round takes the median of its invokes; the table shows the
median over rounds and the ratio ours / LiteRT. With --xnnpack, LiteRT's default
path (XNNPACK on all cores) is timed too, for reference only.

--clock cpu measures CPU time instead of wall time, which a machine shared with
other work disturbs far less: LiteRT's process time around its invokes, and for
ours the CPU time of a bench run of 1 + runs invokes less that of a run of 1,
divided by runs (a mean per invoke rather than a median).

Usage:
  python benches/litert_cpu.py [SHARED_DIR] [--binary target/debug/tflite-wgpu]
         [--rounds 5] [--runs 20] [--clock wall|cpu] [--limit 2.0] [--xnnpack]
         [--model SUBSTRING ...]

Without --binary only LiteRT is timed. With --limit the exit status is 1 when any
ratio exceeds it.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

MODELS = [
    "real/face_detection_short_range.tflite",
    "real/face_detection_back.tflite",
    "real/face_detection_full_range.tflite",
    "real/face_detection_full_range_sparse.tflite",
    "real/face_landmark.tflite",
    "real/iris_landmark.tflite",
    "gen/mobilenet_v2_035_128_fp32.tflite",
    "gen/mobilenet_v2_035_128_int8.tflite",
    "gen/mobilenet_v2_035_128_dynint8.tflite",
    "gen/mobilenet_v2_100_224_fp32.tflite",
]


def litert(path, threads, resolver):
    it = Interpreter(
        model_path=path, num_threads=threads, experimental_op_resolver_type=resolver
    )
    it.allocate_tensors()
    for d in it.get_input_details():
        n = int(np.prod(d["shape"]))
        x = (np.arange(n) % 255) / 127.5 - 1.0
        if np.issubdtype(d["dtype"], np.integer):
            x = (np.arange(n) % 255) - 128
        it.set_tensor(d["index"], x.astype(d["dtype"]).reshape(d["shape"]))
    for _ in range(3):
        it.invoke()
    return it


def litert_ms(it, runs, clock):
    now = time.process_time if clock == "cpu" else time.perf_counter
    times = []
    for _ in range(runs):
        t = now()
        it.invoke()
        times.append(now() - t)
    return statistics.median(times) * 1e3


def bench(binary, path, runs):
    """Our CLI's bench of `runs` invokes: (median wall ms, CPU seconds it used)."""
    cmd = [binary, "bench", path, "--device", "cpu", "--json"]
    cmd += ["--warmup", "2", "--runs", str(runs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1:] or "bench failed")
    doc = json.loads(res.stdout)
    if isinstance(doc, list):
        doc = doc[0]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(doc["latency_ms"]["median"]), cpu


def ours_ms(binary, path, runs, clock):
    if clock == "wall":
        return bench(binary, path, runs)[0]
    _, one = bench(binary, path, 1)
    _, many = bench(binary, path, 1 + runs)
    return max(many - one, 0.0) / runs * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shared", nargs="?", default=os.environ.get("TFLITE_WGPU_SHARED", "../shared"))
    ap.add_argument("--binary", help="the tflite-wgpu CLI to time next to LiteRT")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20, help="invokes per round")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--limit", type=float, help="fail when ours / LiteRT exceeds this")
    ap.add_argument("--xnnpack", action="store_true", help="also time XNNPACK, all cores")
    ap.add_argument("--model", action="append", help="only models whose path contains this")
    a = ap.parse_args()

    models = [m for m in MODELS if not a.model or any(s in m for s in a.model)]
    print(f"cores: {os.cpu_count()}; {a.rounds} rounds x {a.runs} invokes; {a.clock} time")
    head = f"{'model':<46} {'ours ms':>9} {'litert ms':>10} {'ratio':>6}"
    if a.xnnpack:
        head += f" {'xnnpack ms':>11}"
    print(head)
    worst = 0.0
    for name in models:
        path = f"{a.shared}/models/{name}"
        ref = litert(path, 1, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        ref_t, our_t, err = [], [], None
        for _ in range(a.rounds):
            ref_t.append(litert_ms(ref, a.runs, a.clock))
            if a.binary and err is None:
                try:
                    our_t.append(ours_ms(a.binary, path, a.runs, a.clock))
                except (RuntimeError, ValueError, KeyError) as e:
                    err = e
        lm = statistics.median(ref_t)
        line = f"{name:<46} "
        if our_t and err is None:
            om = statistics.median(our_t)
            worst = max(worst, om / lm)
            line += f"{om:>9.3f} {lm:>10.3f} {om / lm:>6.2f}"
        else:
            line += f"{'-' if err is None else 'failed':>9} {lm:>10.3f} {'-':>6}"
        if a.xnnpack:
            fast = litert(path, os.cpu_count() or 1, OpResolverType.AUTO)
            line += f" {litert_ms(fast, a.runs * a.rounds, a.clock):>11.3f}"
        print(line + (f"  ({err})" if err is not None else ""), flush=True)
    if a.binary:
        print(f"worst ratio: {worst:.2f}")
    if a.limit is not None and a.binary and worst > a.limit:
        sys.exit(1)


if __name__ == "__main__":
    main()
