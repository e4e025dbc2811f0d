"""tflite-wgpu: a GPU delegate for TensorFlow Lite / LiteRT models on wgpu.

Three ways in:

- With LiteRT, one extra line::

      from ai_edge_litert.interpreter import Interpreter
      import tflite_wgpu
      it = Interpreter("model.tflite",
                       experimental_delegates=[tflite_wgpu.load_delegate(precision="fp16")])

- Without LiteRT: ``tflite_wgpu.Interpreter("model.tflite").run([x])``.
- Checking a model: ``tflite_wgpu.validate(path)`` compares the GPU with the CPU
  reference; ``tflite_wgpu.inspect(path)`` shows ops, tensors and the plan.
- Quantizing one: ``tflite_wgpu.quantize(src, dst, mode="int8", calibration=[x, ...])``.

``library_path()`` is the delegate library itself, for C++ hosts and
``--external_delegate_path``. The ``tflite-wgpu`` console script (also
``python -m tflite_wgpu``) is the crate's command line.
"""

from ._api import (
    Interpreter,
    delegate_options,
    inspect,
    library_path,
    load_delegate,
    quantize,
    validate,
)
from ._native import __version__

__all__ = [
    "Interpreter",
    "delegate_options",
    "inspect",
    "library_path",
    "load_delegate",
    "quantize",
    "validate",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
