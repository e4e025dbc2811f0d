"""Peer benchmark: tflite-wgpu on the GPU (fp32 and fp16) next to LiteRT with
XNNPACK on all cores and LiteRT's own GPU accelerator (CompiledModel with
HardwareAccelerator.GPU), on the same models, with the same warmup and number of
timed invokes. Prints one table of median latencies and ratios to LiteRT XNNPACK
(and to LiteRT GPU where it ran); --json prints the rows as JSON instead.

Each measurement runs in its own process, so a peer that crashes or hangs while
starting (a GPU accelerator without a driver) costs one row, marked skipped with
the reason, not the whole table.

Usage: python benches/peers.py --binary target/release/tflite-wgpu [--shared DIR]
       [--models a.tflite,b.tflite] [--runs 50] [--warmup 5] [--json]
(benches/peers.sh finds or builds the binary and the Python environment.)
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

MODELS = [
    "real/face_detection_short_range.tflite",
    "real/face_detection_back.tflite",
    "real/face_detection_full_range.tflite",
    "real/face_detection_full_range_sparse.tflite",
    "real/face_landmark.tflite",
    "real/iris_landmark.tflite",
    "gen/mobilenet_v2_100_224_fp32.tflite",
]

CONFIGS = ["wgpu fp32", "wgpu fp16", "litert xnnpack", "litert gpu"]


def run_child(cmd, args):
    """Run one measurement under the benchmark's timeout: the finished process,
    or a skipped row when it ran out of time."""
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {args.timeout} s"}


def wgpu_row(args, path, precision):
    """Median of `tflite-wgpu bench` on the GPU at `precision`, or a skip reason."""
    cmd = [
        args.binary,
        "bench",
        path,
        "--device",
        "gpu",
        "--precision",
        precision,
        "--backend",
        args.backend,
        "--json",
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
    ]
    out = run_child(cmd, args)
    if isinstance(out, dict):
        return out
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        return {"skipped": lines[-1] if lines else f"exit status {out.returncode}"}
    doc = json.loads(out.stdout)
    adapter = doc.get("adapter") or {}
    gpu = doc.get("gpu") or {}
    ran = (doc.get("config") or {}).get("precision", precision)
    if ran != precision:
        return {"skipped": f"ran {ran}: the adapter has no SHADER_F16"}
    return {
        "median_ms": doc["latency_ms"]["median"],
        "device": f"{adapter.get('name', '?')} ({adapter.get('backend', '?')}, "
        f"driver {adapter.get('driver', '?')} {adapter.get('driver_info', '')})".strip(),
        "cpu_nodes": gpu.get("cpu_nodes"),
        "dispatches": gpu.get("dispatches_per_invoke"),
    }


def inputs_for(details):
    """Seeded inputs in [-1, 1) (int8/uint8 scaled to their range) for input details."""
    import numpy as np

    arrays = []
    for shape, dtype in details:
        n = int(np.prod(shape))
        wave = (np.arange(n) * 2654435761 % 1000) / 500.0 - 1.0
        if dtype == np.int8:
            a = (wave * 127).astype(np.int8)
        elif dtype == np.uint8:
            a = ((wave + 1.0) * 127).astype(np.uint8)
        else:
            a = wave.astype(dtype)
        arrays.append(a.reshape(shape))
    return arrays


def litert_one(path, mode, runs, warmup):
    """Runs in a child process: time LiteRT on `path` and print one JSON object."""
    import numpy as np

    if mode == "xnnpack":
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        it = Interpreter(
            model_path=path,
            num_threads=os.cpu_count() or 1,
            experimental_op_resolver_type=OpResolverType.AUTO,
        )
        it.allocate_tensors()
        details = it.get_input_details()
        for d, a in zip(details, inputs_for([(d["shape"], d["dtype"]) for d in details])):
            it.set_tensor(d["index"], a)
        run = it.invoke
        device = f"{os.cpu_count()} threads"
    else:
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import Options

        model = CompiledModel.from_file(
            path, options=Options(hardware_accelerators=HardwareAccelerator.GPU)
        )
        if not model.is_fully_accelerated():
            raise RuntimeError("LiteRT GPU does not take the whole model")
        key = list(model.get_signature_list())[0]
        details = list(model.get_input_tensor_details(key).values())
        ins = model.create_input_buffers(0)
        outs = model.create_output_buffers(0)
        shapes = [(d["shape"], np.dtype(d["dtype"])) for d in details]
        for b, a in zip(ins, inputs_for(shapes)):
            b.write(a)

        def run():
            model.run_by_index(0, ins, outs)
            # Read one output back, so the time includes the GPU finishing, as
            # tflite-wgpu's invoke does.
            outs[0].read(1, np.float32)

        device = "WebGPU accelerator"
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2] * 1e3, "device": device}))


def litert_row(args, path, mode):
    """Median of LiteRT in `mode` measured in a child process, or a skip reason."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--litert-one",
        mode,
        path,
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
    ]
    out = run_child(cmd, args)
    if isinstance(out, dict):
        return out
    if out.returncode != 0:
        lines = [
            l.strip()
            for l in out.stderr.strip().splitlines()
            if l.strip() and not l.startswith(("INFO", "WARNING", "=== ", "└", "third_party"))
        ]
        why = next((l for l in lines if "Failed" in l), lines[-1] if lines else "")
        return {"skipped": why or f"exit status {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratio(a, b):
    """a / b for two rows with medians, else None."""
    if "median_ms" in a and "median_ms" in b and b["median_ms"] > 0:
        return a["median_ms"] / b["median_ms"]
    return None


def cell(row):
    return f"{row['median_ms']:.3f}" if "median_ms" in row else "skipped"


def print_table(rows, env):
    print(f"peer benchmark, medians in ms ({env['runs']} runs after {env['warmup']} warmup)")
    print(f"host: {env['host']}, {env['cores']} cores; python {env['python']}")
    for config in CONFIGS:
        devices = {r[config].get("device") for r in rows if "device" in r[config]}
        if devices:
            print(f"  {config}: {', '.join(sorted(devices))}")
    head = f"{'model':<38}" + "".join(f"{c:>16}" for c in CONFIGS)
    head += f"{'fp32/xnn':>10}{'fp16/xnn':>10}{'fp32/lgpu':>10}{'fp16/lgpu':>10}"
    print(head)
    for r in rows:
        line = f"{r['model']:<38}" + "".join(f"{cell(r[c]):>16}" for c in CONFIGS)
        for num, den in [
            ("wgpu fp32", "litert xnnpack"),
            ("wgpu fp16", "litert xnnpack"),
            ("wgpu fp32", "litert gpu"),
            ("wgpu fp16", "litert gpu"),
        ]:
            x = ratio(r[num], r[den])
            line += f"{x:>10.2f}" if x is not None else f"{'-':>10}"
        print(line)
    print("ratios: tflite-wgpu median over the peer's (below 1: tflite-wgpu is faster)")
    skipped = [(r["model"], c, r[c]["skipped"]) for r in rows for c in CONFIGS if "skipped" in r[c]]
    reasons = {}
    for model, config, why in skipped:
        reasons.setdefault((config, why), []).append(model)
    for (config, why), models in reasons.items():
        print(f"skipped {config} on {len(models)} model(s): {why}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=os.environ.get("TFLITE_WGPU_BIN", "target/release/tflite-wgpu"))
    p.add_argument("--shared", default=os.environ.get("TFLITE_WGPU_SHARED", "../shared"))
    p.add_argument("--models", help="comma-separated paths under SHARED/models (default: the seven)")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--backend", default="auto", help="tflite-wgpu --backend")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    p.add_argument("--json", action="store_true")
    p.add_argument("--litert-one", nargs=2, metavar=("MODE", "MODEL"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.litert_one:
        mode, path = args.litert_one
        litert_one(path, mode, max(args.runs, 1), args.warmup)
        return
    models = args.models.split(",") if args.models else MODELS
    rows = []
    for name in models:
        path = os.path.join(args.shared, "models", name)
        if not os.path.exists(path):
            sys.exit(f"no model at {path}")
        print(f"measuring {name}", file=sys.stderr)
        rows.append(
            {
                "model": os.path.basename(name).removesuffix(".tflite"),
                "wgpu fp32": wgpu_row(args, path, "fp32"),
                "wgpu fp16": wgpu_row(args, path, "fp16"),
                "litert xnnpack": litert_row(args, path, "xnnpack"),
                "litert gpu": litert_row(args, path, "gpu"),
            }
        )
    env = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "host": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "runs": args.runs,
        "warmup": args.warmup,
    }
    if args.json:
        print(json.dumps({"env": env, "rows": rows}, indent=2))
    else:
        print_table(rows, env)


if __name__ == "__main__":
    main()
