"""Run a .tflite model with LiteRT, its supported partitions on the GPU through
the installed tflite-wgpu package.

    pip install tflite-wgpu ai-edge-litert      # or the wheel from maturin build
    python examples/python/litert_delegate.py model.tflite [fp16]

Inputs are random (zeros for integer inputs); prints how many delegate kernels
LiteRT created and the output shapes.
"""

import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import tflite_wgpu


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    precision = sys.argv[2] if len(sys.argv) == 3 else "fp32"
    delegate = tflite_wgpu.load_delegate(precision=precision)
    it = Interpreter(model_path=sys.argv[1], experimental_delegates=[delegate])
    it.allocate_tensors()
    ops = it._get_ops_details()
    kernels = sum(o["op_name"] == "DELEGATE" for o in ops)
    print(f"{kernels} delegate kernel(s), {len(ops) - kernels} op(s) on LiteRT's CPU kernels")

    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        if np.issubdtype(d["dtype"], np.floating):
            x = rng.standard_normal(d["shape"]).astype(d["dtype"])
        else:
            x = np.zeros(d["shape"], d["dtype"])
        it.set_tensor(d["index"], x)
    it.invoke()
    for d in it.get_output_details():
        y = it.get_tensor(d["index"])
        print(f"output {d['name']}: shape {y.shape}, dtype {y.dtype}")


if __name__ == "__main__":
    main()
