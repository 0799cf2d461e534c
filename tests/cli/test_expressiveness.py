"""--expressiveness: the studio's one knob over emotion strength and head motion, on the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.project import MAX_EXPRESSIVENESS, with_expressiveness


def test_the_knob_scales_strength_and_head_motion_within_their_ranges():
    assert with_expressiveness(1.0, 1.0, 0.5) == (0.5, 0.5)
    assert with_expressiveness(1.2, 0.8, 0.0) == (0.0, 0.0)
    s, h = with_expressiveness(1.0, 1.5, MAX_EXPRESSIVENESS)
    assert s == 2.0 and h == 2.0                      # head motion kept inside its 0..2 range


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", "render", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["2.5", "-0.1", "nan"])
def test_out_of_range_expressiveness_is_refused_before_any_work(tmp_path, value):
    r = _cli("--expressiveness", value, "-o", str(tmp_path / "x.mp4"))
    assert r.returncode == 2, r.stderr
    assert "--expressiveness" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_expressiveness_is_held_by_a_project(tmp_path):
    r = _cli("--project", str(tmp_path / "p.srproj"), "--expressiveness", "0.5")
    assert r.returncode == 2 and "--expressiveness" in r.stderr, r.stderr


@pytest.mark.parametrize("cmd", [["render"], ["analyze", "--audio", "resources/sample/narration.wav"]])
def test_an_unknown_emotion_is_refused_before_any_work(tmp_path, cmd):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    args = [a if not a.startswith("resources/") else str(repo / a) for a in cmd]
    r = subprocess.run([sys.executable, "-m", "core.cli", *args, "--emotion", "joyful"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and "unknown emotion 'joyful'" in r.stderr, r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr   # no progress: nothing ran
