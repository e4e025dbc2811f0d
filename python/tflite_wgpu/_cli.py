"""The ``tflite-wgpu`` console script: the crate's own command line (run,
inspect, bench, validate), compiled into the native module."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import List, Optional, Sequence, Union

from . import _native


def main(argv: Optional[Sequence[Union[str, os.PathLike[str]]]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and
    return its exit status: 0 on success, 1 on a failure, 2 on a usage error.

    The command runs with the GIL released; on the main thread Ctrl-C ends the
    process as it ends the Rust binary.
    """
    args: List[str] = [os.fspath(a) for a in (sys.argv[1:] if argv is None else argv)]
    # As the Rust binary does: Mesa's Vulkan device-select layer only orders
    # devices (the delegate chooses its own adapter) and prints to stderr where
    # no display runtime exists.
    os.environ.setdefault("NODEVICE_SELECT", "1")
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.current_thread() is not threading.main_thread():
        return int(_native.cli_main(["tflite-wgpu", *args]))
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return int(_native.cli_main(["tflite-wgpu", *args]))
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
