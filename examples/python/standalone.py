"""Run a .tflite model without LiteRT: tflite-wgpu's own interpreter, on the GPU
where an adapter exists (else on the CPU, with a warning), then check the GPU
against the CPU reference.

    pip install tflite-wgpu
    python examples/python/standalone.py model.tflite [fp16]
"""

import sys

import numpy as np

import tflite_wgpu


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    model = sys.argv[1]
    precision = sys.argv[2] if len(sys.argv) == 3 else "fp32"
    interp = tflite_wgpu.Interpreter(model, device="auto", precision=precision)
    print(f"running on the {interp.device}")

    rng = np.random.default_rng(0)
    inputs = []
    for d in interp.input_details():
        if np.issubdtype(d["dtype"], np.floating):
            inputs.append(rng.standard_normal(d["shape"]).astype(d["dtype"]))
        else:
            inputs.append(np.zeros(d["shape"], d["dtype"]))
    for d, y in zip(interp.output_details(), interp.run(inputs)):
        print(f"output {d['name']}: shape {y.shape}, dtype {y.dtype}")

    if interp.device == "gpu":
        report = tflite_wgpu.validate(model, precision=precision)
        for o in report["outputs"]:
            m = o["metrics"]
            print(f"{o['name']}: max_abs_error {m['max_abs_error']:.3g}, cosine {m['cosine']:.6f}")
        print("PASS" if report["pass"] else "FAIL")


if __name__ == "__main__":
    main()
