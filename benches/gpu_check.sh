#!/usr/bin/env bash
# The first check on a real GPU, in one run (at most about 8 minutes on a
# discrete GPU): the environment, correctness, checked vs trusted shaders,
# subgroup vs tree reductions, the headline benchmark, the per-dispatch profile
# beside the plan, and the peers. Writes OUT/summary.json with `adapter`,
# `correctness`, `bench` and `peers`, and every raw document under OUT/raw/.
#
#   benches/gpu_check.sh [--quick] [--binary PATH] --out OUT
#
# --quick runs a small subset (two models, few runs, no peers): what CI runs on
# lavapipe so that the script keeps working. Its timings are CPU numbers there.
# --binary defaults to the release build (built when absent).
# Environment: TFLITE_WGPU_SHARED (default ../shared), TFLITE_WGPU_PYTHON (a
# Python with numpy; default .venv/bin/python, then python3).
# Exits non-zero when a correctness check fails or a step cannot run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

quick=0
binary=""
out=""
usage() { echo "usage: benches/gpu_check.sh [--quick] [--binary PATH] --out OUT" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --binary) [ $# -ge 2 ] || usage; binary="$2"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) usage ;;
  esac
done
[ -n "$out" ] || usage

if [ -z "$binary" ]; then
  binary="${CARGO_TARGET_DIR:-$root/target}/release/tflite-wgpu"
  if [ ! -x "$binary" ]; then
    echo "building $binary" >&2
    (cd "$root" && cargo build --release --bin tflite-wgpu >&2)
  fi
fi
[ -x "$binary" ] || { echo "no tflite-wgpu binary at $binary" >&2; exit 1; }
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

shared="${TFLITE_WGPU_SHARED:-$root/../shared}"
[ -d "$shared/models" ] || { echo "no shared models at $shared (set TFLITE_WGPU_SHARED)" >&2; exit 1; }
shared="$(cd "$shared" && pwd)"
python="${TFLITE_WGPU_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python="python3"; fi
fi
"$python" -c 'import numpy' 2>/dev/null || { echo "$python has no numpy (set TFLITE_WGPU_PYTHON)" >&2; exit 1; }

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
mkdir -p "$out/raw"
out="$(cd "$out" && pwd)"
raw="$out/raw"
start=$(date +%s)
log() { echo "[$(( $(date +%s) - start ))s] $*" >&2; }

blaze="real/face_detection_short_range.tflite"
if [ "$quick" = 1 ]; then
  mobilenet="gen/mobilenet_v2_035_128_fp32.tflite"
  headline=("$blaze" "$mobilenet")
  validated=("$blaze" "$mobilenet")
  runs=3; warmup=1; random=1
else
  mobilenet="gen/mobilenet_v2_100_224_fp32.tflite"
  headline=(real/face_detection_short_range.tflite real/face_detection_full_range.tflite
            real/face_detection_full_range_sparse.tflite real/face_detection_back.tflite
            real/face_landmark.tflite real/iris_landmark.tflite "$mobilenet")
  validated=()
  for m in "$shared"/models/real/*.tflite "$shared"/models/gen/*.tflite; do
    validated+=("${m#"$shared"/models/}")
  done
  runs=100; warmup=10; random=1
fi
key() { local m="${1##*/}"; echo "${m%.tflite}"; }

# 1. The environment: adapter, backend, f16, subgroup sizes, timestamps.
log "environment"
"$binary" bench "$shared/models/$blaze" --device gpu --json --runs 1 --warmup 0 \
  > "$raw/environment.json"

# 2. Correctness: validate every model at fp32 and fp16 (exit status and report).
: > "$raw/validate.tsv"
for m in "${validated[@]}"; do
  for p in fp32 fp16; do
    k="$(key "$m")"
    log "validate $k $p"
    rc=0
    "$binary" validate "$shared/models/$m" --precision "$p" --random "$random" --json \
      > "$raw/validate_${k}_$p.json" 2> "$raw/validate_${k}_$p.err" || rc=$?
    printf '%s\t%s\t%s\n' "$k" "$p" "$rc" >> "$raw/validate.tsv"
  done
done

# 3. Checked vs trusted shaders (bit-identical) and 4. subgroup vs tree
# reductions (within 1e-5 relative), on the goldens' inputs.
: > "$raw/variants.tsv"
for m in "$blaze" "$mobilenet"; do
  k="$(key "$m")"
  inputs=()
  for f in "$shared/goldens/$k"/input_*.npy; do inputs+=(--input "$f"); done
  [ ${#inputs[@]} -gt 0 ] || { echo "no golden inputs for $k" >&2; exit 1; }
  for p in fp32 fp16; do
    log "variants $k $p"
    "$binary" run "$shared/models/$m" "${inputs[@]}" --device gpu --precision "$p" \
      --out-dir "$raw/run_${k}_${p}_trusted" > /dev/null
    TFLITE_WGPU_SHADER_CHECKS=1 "$binary" run "$shared/models/$m" "${inputs[@]}" --device gpu \
      --precision "$p" --out-dir "$raw/run_${k}_${p}_checked" > /dev/null
    TFLITE_WGPU_SUBGROUPS=0 "$binary" run "$shared/models/$m" "${inputs[@]}" --device gpu \
      --precision "$p" --out-dir "$raw/run_${k}_${p}_tree" > /dev/null
    printf '%s\t%s\n' "$k" "$p" >> "$raw/variants.tsv"
  done
done

# 5. The headline bench: median, p99 and host_ms at fp32 and fp16.
: > "$raw/bench.tsv"
for m in "${headline[@]}"; do
  for p in fp32 fp16; do
    k="$(key "$m")"
    log "bench $k $p"
    "$binary" bench "$shared/models/$m" --device gpu --precision "$p" --json \
      --runs "$runs" --warmup "$warmup" > "$raw/bench_${k}_$p.json"
    printf '%s\t%s\n' "$k" "$p" >> "$raw/bench.tsv"
  done
done

# 6. The profile with the roofline, beside the plan's workgroups.
: > "$raw/profile.tsv"
for m in "$blaze" "$mobilenet"; do
  for p in fp32 fp16; do
    k="$(key "$m")"
    log "profile $k $p"
    "$binary" bench "$shared/models/$m" --device gpu --precision "$p" --json --profile \
      --runs "$(( runs < 20 ? runs : 20 ))" --warmup "$warmup" > "$raw/profile_${k}_$p.json"
    "$binary" inspect "$shared/models/$m" --device gpu --precision "$p" --json \
      > "$raw/plan_${k}_$p.json"
    printf '%s\t%s\n' "$k" "$p" >> "$raw/profile.tsv"
  done
done

# 7. The peers (LiteRT with XNNPACK, LiteRT's GPU accelerator where it has one).
peers_rc=0
if [ "$quick" = 1 ]; then
  echo '{"skipped": "--quick"}' > "$raw/peers.json"
else
  log "peers"
  models=$(IFS=,; echo "${headline[*]}")
  "$root/benches/peers.sh" --binary "$binary" --json --models "$models" \
    > "$raw/peers.json" 2> "$raw/peers.err" || peers_rc=$?
fi

log "summary"
"$python" - "$raw" "$out/summary.json" "$quick" "$peers_rc" <<'PY'
import json, pathlib, sys
import numpy as np

raw, dest, quick, peers_rc = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])

def load(name):
    return json.loads((raw / name).read_text())

def rows(name):
    return [l.split("\t") for l in (raw / name).read_text().splitlines() if l]

env = load("environment.json")
adapter = dict(env.get("adapter") or {})
adapter["config"] = env.get("config")

validate = []
for k, p, rc in rows("validate.tsv"):
    doc = None
    try:
        doc = load(f"validate_{k}_{p}.json")
    except (OSError, ValueError):
        pass
    validate.append({"model": k, "precision": p, "exit": int(rc),
                     "pass": int(rc) == 0 and (doc or {}).get("pass", True) is not False})

def outputs(d):
    return sorted((raw / d).glob("output_*.npy"))

variants = []
for k, p in rows("variants.tsv"):
    base = f"run_{k}_{p}"
    trusted, checked, tree = (outputs(f"{base}_{v}") for v in ("trusted", "checked", "tree"))
    identical = len(trusted) == len(checked) > 0 and all(
        a.read_bytes() == b.read_bytes() for a, b in zip(trusted, checked))
    worst = 0.0
    for a, b in zip(trusted, tree):
        x = np.load(a).astype(np.float64)
        y = np.load(b).astype(np.float64)
        scale = max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
        worst = max(worst, float(np.max(np.abs(x - y))) / scale if x.size else 0.0)
    variants.append({"model": k, "precision": p,
                     "checked_trusted_bit_identical": identical,
                     "subgroup_tree_max_rel": worst,
                     "subgroup_tree_within_1e-5": len(tree) == len(trusted) > 0 and worst <= 1e-5})

bench = []
for k, p in rows("bench.tsv"):
    d = load(f"bench_{k}_{p}.json")
    bench.append({"model": k, "precision": d["config"]["precision"],
                  "median_ms": d["latency_ms"]["median"], "p99_ms": d["latency_ms"]["p99"],
                  "host_ms": d.get("host_ms"), "init_ms": d.get("init_ms"),
                  "dispatches": (d.get("gpu") or {}).get("dispatches_per_invoke")})

profiles = []
for k, p in rows("profile.tsv"):
    prof = load(f"profile_{k}_{p}.json").get("profile") or {}
    plan = (load(f"plan_{k}_{p}.json").get("plan") or {}).get("dispatches") or []
    roof = (prof.get("roofline") or {}).get("dispatches") or []
    table = []
    for i, r in enumerate(roof):
        planned = plan[i] if i < len(plan) else {}
        table.append({"index": i, "op": r.get("op"), "nodes": r.get("nodes"),
                      "kernel": planned.get("kernel"),
                      "plan_workgroups": planned.get("workgroups"),
                      "workgroups": r.get("workgroups"), "gpu_ms": r.get("gpu_ms"),
                      "flops": r.get("flops"), "bytes": r.get("bytes")})
    profiles.append({"model": k, "precision": p, "timestamps": prof.get("timestamps"),
                     "gpu_time_ms": prof.get("gpu_time_ms"), "dispatches": table})

try:
    peers = load("peers.json")
except (OSError, ValueError) as e:
    peers = {"error": f"peers.sh exited {peers_rc}: {e}"}

correctness = {
    "validate": validate,
    "variants": variants,
    "pass": all(v["pass"] for v in validate) and all(
        v["checked_trusted_bit_identical"] and v["subgroup_tree_within_1e-5"] for v in variants),
}
summary = {"schema": "tflite-wgpu-gpu-check/1", "quick": quick, "adapter": adapter,
           "correctness": correctness, "bench": {"headline": bench, "profiles": profiles},
           "peers": peers}
pathlib.Path(dest).write_text(json.dumps(summary, indent=2))
software = adapter.get("device_type") == "Cpu"
print(f"adapter: {adapter.get('name')} ({adapter.get('backend')}, {adapter.get('device_type')})"
      + ("  [a software adapter: these timings are CPU numbers]" if software else ""))
print(f"correctness: {'pass' if correctness['pass'] else 'FAIL'}"
      f" ({sum(v['pass'] for v in validate)}/{len(validate)} validate runs pass)")
for v in variants:
    print(f"  {v['model']} {v['precision']}: checked==trusted {v['checked_trusted_bit_identical']},"
          f" subgroup vs tree {v['subgroup_tree_max_rel']:.2e}")
print(f"{'model':<36} {'prec':<5} {'median ms':>10} {'p99 ms':>10} {'record+submit':>14}")
for b in bench:
    host = (b["host_ms"] or {}).get("record_submit")
    print(f"{b['model']:<36} {b['precision']:<5} {b['median_ms']:>10.3f} {b['p99_ms']:>10.3f}"
          f" {host if host is None else format(host, '.3f'):>14}")
for p in profiles:
    print(f"profile {p['model']} {p['precision']} (GPU {p['gpu_time_ms']} ms, timestamps {p['timestamps']}):")
    for r in p["dispatches"]:
        print(f"  {r['index']:>3} {str(r['kernel']):<36} plan wg {str(r['plan_workgroups']):>8}"
              f"  {r['gpu_ms'] or 0:.4f} ms  {(r['flops'] or 0) / 1e6:.2f} MFLOP")
sys.exit(0 if correctness["pass"] else 1)
PY
