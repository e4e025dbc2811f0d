"""Type stubs of the native extension module (the crate built with
``--features python``); the public API is the ``tflite_wgpu`` package."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__version__: str

class Interpreter:
    """The crate's interpreter; the GIL is released while it loads and runs."""

    def __init__(
        self,
        model_path: str,
        device: str,
        precision: str,
        options: Sequence[Tuple[str, str]],
    ) -> None: ...
    def run(self, inputs: Sequence[np.ndarray]) -> List[np.ndarray]: ...
    def input_details(self) -> List[Dict[str, Any]]: ...
    def output_details(self) -> List[Dict[str, Any]]: ...
    def cancel(self) -> None: ...
    @property
    def fallback(self) -> Optional[str]: ...
    @property
    def device(self) -> str: ...

def delegate_options(
    precision: Optional[str], options: Sequence[Tuple[str, str]]
) -> List[Tuple[str, str]]: ...
def cli_main(argv: Sequence[str]) -> int:
    """Run the ``tflite-wgpu`` command line (run, inspect, bench, validate) on
    ``argv``, whose first item is the program name, with the GIL released; it
    prints to the process's stdout and stderr and returns the exit status: 0 on
    success, 1 on a failure, 2 on a usage error (help and version: 0)."""
    ...

def delegate_option_keys() -> List[Tuple[str, str]]: ...
def validate_json(
    model_path: str,
    precision: str,
    inputs: Optional[Sequence[np.ndarray]],
    random: int,
    seed: int,
    backend: str,
    per_layer: bool,
    fp32_nodes: Sequence[int],
    auto_mixed: bool,
    max_rel: float,
    min_cosine: float,
) -> str: ...
def inspect_json(model_path: str, device: str, precision: str, backend: str) -> str: ...
def quantize_json(src: str, dst: str, flags: Sequence[str]) -> str: ...
