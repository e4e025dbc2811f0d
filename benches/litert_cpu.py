"""LiteRT on the CPU, for comparison with `cargo bench` and `tflite-wgpu bench`:
XNNPACK on all cores (LiteRT's default CPU path) and the builtin kernels on one
thread (the reference the CPU interpreter matches).

Usage: python benches/litert_cpu.py [SHARED_DIR]
"""
import os
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
]

CONFIGS = [
    ("xnnpack, all cores", os.cpu_count() or 1, OpResolverType.AUTO),
    ("builtin, 1 thread", 1, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
]


def median_ms(path, threads, resolver):
    it = Interpreter(
        model_path=path, num_threads=threads, experimental_op_resolver_type=resolver
    )
    it.allocate_tensors()
    for d in it.get_input_details():
        n = int(np.prod(d["shape"]))
        x = ((np.arange(n) % 255) / 127.5 - 1.0).astype(np.float32).reshape(d["shape"])
        it.set_tensor(d["index"], x)
    for _ in range(5):
        it.invoke()
    times = []
    for _ in range(50):
        t = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t)
    return np.median(times) * 1e3


shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
print(f"cores: {os.cpu_count()}")
for name in MODELS:
    cells = [
        f"{label} {median_ms(f'{shared}/models/{name}', threads, resolver):.3f} ms"
        for label, threads, resolver in CONFIGS
    ]
    print(f"{name}: median " + "; ".join(cells))
