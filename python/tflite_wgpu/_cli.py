"""The ``tflite-wgpu`` console script.

When the native module carries the crate's command line (``cli_main``), every
subcommand runs there. Otherwise this covers ``inspect`` and ``validate``,
printing the same JSON documents as the Rust command line's ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from . import _native


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tflite-wgpu", description="Run and inspect TensorFlow Lite / LiteRT models"
    )
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("inspect", help="ops, tensors and the execution plan of a model")
    i.add_argument("model")
    i.add_argument("--json", action="store_true", help="print JSON (the only format here)")
    i.add_argument("--device", choices=["auto", "gpu", "cpu"], default="auto")
    i.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    i.add_argument("--backend", default="auto")
    v = sub.add_parser("validate", help="compare the GPU with the CPU reference")
    v.add_argument("model")
    v.add_argument("--json", action="store_true", help="print JSON (the only format here)")
    v.add_argument("--precision", choices=["fp32", "fp16"], default="fp16")
    v.add_argument("--backend", default="auto")
    v.add_argument("--random", type=int, default=3)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--per-layer", action="store_true")
    v.add_argument("--fp32-nodes", default="")
    v.add_argument("--auto-mixed", action="store_true")
    v.add_argument("--max-rel", type=float, default=0.02)
    v.add_argument("--min-cosine", type=float, default=0.999)
    return p


def _fallback(args: List[str]) -> int:
    from . import inspect, validate

    a = _parser().parse_args(args)
    try:
        if a.command == "inspect":
            doc = inspect(a.model, device=a.device, precision=a.precision, backend=a.backend)
        else:
            nodes = [int(n) for n in a.fp32_nodes.split(",") if n.strip()]
            doc = validate(
                a.model,
                precision=a.precision,
                random=a.random,
                seed=a.seed,
                backend=a.backend,
                per_layer=a.per_layer,
                fp32_nodes=nodes,
                auto_mixed=a.auto_mixed,
                max_rel=a.max_rel,
                min_cosine=a.min_cosine,
            )
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(doc, indent=2))
    return 0 if doc.get("pass", True) else 1


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and
    return its exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    cli_main = getattr(_native, "cli_main", None)
    if cli_main is None:
        return _fallback(args)
    return int(cli_main(["tflite-wgpu", *args]))


if __name__ == "__main__":
    sys.exit(main())
