"""mediapipe's native log lines stay out of the terminal; our own stderr does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _stderr_lines(code: str) -> list[str]:
    """The non-blank lines a fresh interpreter running ``code`` writes to its stderr."""
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [ln for ln in res.stderr.splitlines() if ln.strip()]


def test_face_detection_prints_nothing_native_and_keeps_our_own_lines():
    code = (
        "import sys\n"
        "from core.face.rig import load_rig\n"
        "print('ours before', file=sys.stderr, flush=True)\n"
        "load_rig('resources/sample/portrait.png')\n"
        "print('ours after', file=sys.stderr, flush=True)\n"
    )
    lines = _stderr_lines(code)
    assert lines == ["ours before", "ours after"], lines   # was 9-10 lines of absl/TFLite logging


def test_graph_threads_that_log_after_the_constructor_returns_stay_silenced():
    # A solution's constructor starts its graph and returns; the calculators then open on the
    # graph's own threads and log ("Created TensorFlow Lite XNNPACK delegate", "Feedback
    # manager requires ..."). Waiting here, outside any quiet window, for those threads to
    # finish makes the late lines land on the real fd 2 every time unless the builders already
    # waited inside the window (the CI flake: a loaded machine let them land before process()).
    code = (
        "import sys\n"
        "from core.face import rig, segmentation\n"
        "print('ours before', file=sys.stderr, flush=True)\n"
        "solutions = [rig._face_mesh(1), *rig._detectors(), segmentation._segmenter()]\n"
        "for s in solutions:\n"
        "    s._graph.wait_until_idle()\n"
        "print('ours after', file=sys.stderr, flush=True)\n"
    )
    lines = _stderr_lines(code)
    assert lines == ["ours before", "ours after"], lines
