"""``python -m tflite_wgpu``: the ``tflite-wgpu`` command line."""

import sys

from ._cli import main

sys.exit(main())
