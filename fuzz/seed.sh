#!/bin/sh
# Seed the fuzz corpora from the shared models and goldens.
# Usage: fuzz/seed.sh [shared_dir]   (default: $TFLITE_WGPU_SHARED or /work/shared)
set -eu
shared="${1:-${TFLITE_WGPU_SHARED:-/work/shared}}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/corpus/model_reader" "$here/corpus/model_run" "$here/corpus/npy_reader"
for f in "$shared"/models/gen/*.tflite "$shared"/models/real/*.tflite; do
    [ -f "$f" ] || continue
    cp "$f" "$here/corpus/model_reader/"
    # The run target gets the small models only: big ones make slow executions.
    if [ "$(wc -c < "$f")" -lt 65536 ]; then
        cp "$f" "$here/corpus/model_run/"
    fi
done
find "$shared/goldens" -name '*.npy' -size -64k | while read -r f; do
    cp "$f" "$here/corpus/npy_reader/$(echo "$f" | tr '/' '_')"
done
