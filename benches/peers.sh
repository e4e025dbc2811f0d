#!/usr/bin/env bash
# Peer benchmark entry point: finds (or builds, with `cargo build --release`) the
# tflite-wgpu binary and a Python with ai-edge-litert, then runs benches/peers.py
# with the remaining arguments (--runs, --warmup, --models, --json, ...).
#
#   benches/peers.sh [--binary PATH] [peers.py options]
#
# Environment: TFLITE_WGPU_SHARED (the models; default ../shared),
# TFLITE_WGPU_PYTHON (a Python with ai-edge-litert; default .venv/bin/python, then
# python3), CARGO_TARGET_DIR (where cargo builds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

binary=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -z "$binary" ]; then
  binary="${CARGO_TARGET_DIR:-$root/target}/release/tflite-wgpu"
  if [ ! -x "$binary" ]; then
    echo "building $binary" >&2
    cargo build --release --bin tflite-wgpu >&2
  fi
fi
[ -x "$binary" ] || { echo "no tflite-wgpu binary at $binary" >&2; exit 1; }

python="${TFLITE_WGPU_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python="python3"; fi
fi
if ! "$python" -c 'import ai_edge_litert' 2>/dev/null; then
  echo "$python has no ai_edge_litert: pip install ai-edge-litert (or set TFLITE_WGPU_PYTHON)" >&2
  exit 1
fi

export TFLITE_WGPU_SHARED="${TFLITE_WGPU_SHARED:-$root/../shared}"
exec "$python" "$root/benches/peers.py" --binary "$binary" "${args[@]+"${args[@]}"}"
