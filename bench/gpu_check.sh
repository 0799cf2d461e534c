#!/usr/bin/env bash
# The diffusion renderer's GPU figures in one command on a bare CUDA machine
# (Python 3.12 + CUDA torch, accelerate, transformers, safetensors, OpenCV; no
# diffusers, no mediapipe, no project venv, no network). Prepare first, on the
# CPU: `make gpu-prep` -> build/gpu_check/ (dataset + wheels, < 64 MiB), and
# carry that folder with the working tree. Then, from the repository root:
#
#   bash bench/gpu_check.sh                         # CUDA, writes $OUT (or build/gpu_check_out)
#   bash bench/gpu_check.sh --device cpu --dry-run  # toy sizes, proves the call without a GPU
#
# Environment: GPU_CHECK_DIR (prepared folder), GPU_CHECK_PYTHON (interpreter,
# default python3), GPU_CHECK_LIMIT_S (hard limit, default 480 s = 8 min),
# GPU_CHECK_ISOLATED=1 with GPU_CHECK_BASE_PATH=DIR (tests: run python -S with
# only DIR, the wheels and the repo on its path).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PREP="${GPU_CHECK_DIR:-$REPO/build/gpu_check}"
PY="${GPU_CHECK_PYTHON:-python3}"
LIMIT="${GPU_CHECK_LIMIT_S:-480}"
OUTDIR="${OUT:-$REPO/build/gpu_check_out}"
t0=$(date +%s)

if [ ! -f "$PREP/dataset.npz" ] || ! ls "$PREP"/wheels/*.whl >/dev/null 2>&1; then
    echo "error: $PREP has no dataset.npz or wheels/; run 'make gpu-prep' on the CPU machine first" >&2
    exit 2
fi
SITE="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-site.XXXXXX")"
trap 'rm -rf "$SITE"' EXIT
# The carried wheels only, into a throw-away folder: the machine's own torch stays.
"$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir \
    --target "$SITE" "$PREP"/wheels/*.whl
echo "[gpu_check] installed $(ls "$PREP"/wheels | wc -l) wheels into $SITE in $(( $(date +%s) - t0 )) s" >&2

export PYTHONPATH="$SITE:$REPO${GPU_CHECK_BASE_PATH:+:$GPU_CHECK_BASE_PATH}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
FLAGS=()
[ "${GPU_CHECK_ISOLATED:-0}" = 1 ] && FLAGS=(-S)
mkdir -p "$OUTDIR"
left=$(( LIMIT - ($(date +%s) - t0) ))
# The Python side plans its training to end 40 s before the hard limit.
cd "$REPO"
timeout --signal=TERM --kill-after=10 "$left" \
    "$PY" "${FLAGS[@]}" -m bench.gpu_check --data "$PREP/dataset.npz" --out "$OUTDIR" \
    --budget-s $(( left - 40 )) "$@"
