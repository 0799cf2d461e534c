"""mediapipe's native log lines stay out of the terminal; our own stderr does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_face_detection_prints_nothing_native_and_keeps_our_own_lines():
    code = (
        "import sys\n"
        "from core.face.rig import load_rig\n"
        "print('ours before', file=sys.stderr, flush=True)\n"
        "load_rig('resources/sample/portrait.png')\n"
        "print('ours after', file=sys.stderr, flush=True)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == ["ours before", "ours after"], lines   # was 9-10 lines of absl/TFLite logging
