#!/usr/bin/env bash
# Smoke test of the frozen Linux bundle (make installer-test).
# The bundle folder is made read-only first: the app must keep models, caches
# and logs in the user directories, never in its install folder.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${1:-dist/synchrorama}
SHOT=${SMOKE_SHOT:-out/frozen-studio.png}       # where the studio screenshot is kept
# a Python for the warning check (standard library only): the build's venv, else the system's
PY=${SMOKE_PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
[ -x "$BUNDLE/synchrorama" ] || { echo "no bundle at $BUNDLE: run make installer first" >&2; exit 1; }
WORK=$(mktemp -d)
export SYNCHRORAMA_HOME="$WORK/home"
trap 'chmod -R u+w "$BUNDLE"; rm -rf "$WORK"' EXIT
chmod -R a-w "$BUNDLE"

fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
check_log() { if grep -E "ModuleNotFoundError|No module named|FileNotFoundError|cannot open shared object" "$1"; then fail "missing module or data file (see above)"; fi; }
# a degraded path still writes a video: any warning the sample does not give on a
# complete install (installer/smoke_warnings.py EXPECTED) fails the smoke test
check_warnings() {
    local logs
    logs=$(find "$SYNCHRORAMA_HOME" -name '*.log' 2>/dev/null || true)
    # shellcheck disable=SC2086
    "$PY" installer/smoke_warnings.py "$@" $logs || fail "unexpected warnings (see above)"
}

echo "1/3 version"
"$BUNDLE/synchrorama" --version | tee "$WORK/version.txt"
grep -q synchrorama "$WORK/version.txt" || fail "--version"

echo "2/3 render the embedded sample"
start=$(date +%s)
QT_QPA_PLATFORM=offscreen "$BUNDLE/synchrorama" render --json -o "$WORK/sample.mp4" >"$WORK/render.json" 2>"$WORK/render.log" || { cat "$WORK/render.log"; fail "render"; }
check_log "$WORK/render.log"
[ -s "$WORK/sample.mp4" ] || fail "no video written"
grep -q '"frames"' "$WORK/render.json" || fail "no JSON summary"
check_warnings "$WORK/render.json" "$WORK/render.log"
echo "   rendered in $(( $(date +%s) - start )) s: $(cat "$WORK/render.json" | head -c 200)"

echo "3/3 studio screenshot under xvfb"
xvfb-run -a "$BUNDLE/synchrorama-studio" --sample --screenshot "$WORK/studio.png" >"$WORK/studio.log" 2>&1 || { cat "$WORK/studio.log"; fail "studio"; }
check_log "$WORK/studio.log"
[ "$(stat -c %s "$WORK/studio.png" 2>/dev/null || echo 0)" -gt 20000 ] || fail "screenshot missing or blank"
mkdir -p "$(dirname "$SHOT")" && cp "$WORK/studio.png" "$SHOT"
echo "SMOKE OK (screenshot: $SHOT)"
