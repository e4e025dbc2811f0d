"""LiteRT's builtin CPU kernels on one thread, for comparison with `cargo bench`.

Usage: python benches/litert_cpu.py [SHARED_DIR]
"""
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
for name in ["real/face_detection_short_range.tflite", "gen/mobilenet_v2_035_128_fp32.tflite"]:
    it = Interpreter(
        model_path=f"{shared}/models/{name}",
        num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
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
    print(f"{name}: median {np.median(times) * 1e3:.3f} ms")
