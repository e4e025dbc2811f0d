"""The ``tflite-wgpu`` console script: the crate's command line (run, inspect,
bench, validate), running inside this package's native library."""

from __future__ import annotations

import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and
    return its exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    return int(_native.cli_main(["tflite-wgpu", *args]))


if __name__ == "__main__":
    sys.exit(main())
