"""Run a .tflite model with LiteRT, its supported partitions on the GPU through the
tflite-wgpu external delegate.

    cargo build --release --lib
    python examples/litert_delegate.py target/release/libtflite_wgpu.so model.tflite [fp16]

Inputs are random (or zeros for integer inputs); the script prints which ops
LiteRT delegated and the output shapes.
"""

import sys

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate
except ImportError:  # the older tflite-runtime wheel has the same API
    from tflite_runtime.interpreter import Interpreter, load_delegate


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    lib, model = sys.argv[1], sys.argv[2]
    fp16 = len(sys.argv) == 4 and sys.argv[3] == "fp16"
    # The one line that changes from a CPU-only LiteRT program:
    delegate = load_delegate(lib, {"is_precision_loss_allowed": "1" if fp16 else "0"})
    it = Interpreter(model_path=model, experimental_delegates=[delegate])
    it.allocate_tensors()

    ops = it._get_ops_details()
    kernels = [o for o in ops if o["op_name"] == "DELEGATE"]
    print(f"{len(kernels)} delegate kernel(s); model ops: {len(ops) - len(kernels)}")

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
