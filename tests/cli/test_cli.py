"""The CLI as a user runs it: exit codes, messages, outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from core.io.video import iter_frames, probe
from tests.conftest import REPO, run_cli, shared, write_wav


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0 and "synchrorama" in res.stdout


@pytest.mark.parametrize("case", ["missing", "text-image", "dog", "silent", "corrupt", "bad-scene"])
def test_bad_input_exits_2_with_one_line(tmp_path, sample_image, sample_audio, case):
    out = tmp_path / "out.mp4"
    args = {"missing": ["--image", str(tmp_path / "nope.png"), "--audio", str(sample_audio)],
            "text-image": ["--image", str(_text(tmp_path / "face.png")), "--audio", str(sample_audio)],
            "silent": ["--image", str(sample_image),
                       "--audio", str(write_wav(tmp_path / "silence.wav", np.zeros(32000)))],
            "corrupt": ["--image", str(sample_image), "--audio", str(_text(tmp_path / "speech.wav"))],
            "bad-scene": ["--scene", "soon: smiles"],
            }.get(case)
    if case == "dog":
        args = ["--image", str(shared("portraits", "lp_s30.jpg")), "--audio", str(sample_audio)]
    res = run_cli("render", *args, "-o", str(out))
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.strip().splitlines() if l.startswith("error:")]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def _text(path):
    path.write_text("not media at all")
    return path


def test_render_save_and_load_tracks(tmp_path, sample_image, short_audio):
    out = tmp_path / "a.mp4"
    tracks = tmp_path / "tracks.json"
    res = run_cli("render", "--image", str(sample_image), "--audio", str(short_audio), "--size", "256",
                  "--save-tracks", str(tracks), "--json", "-o", str(out))
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 75 and summary["output"] == str(out)
    assert {"face", "audio", "motion", "render+encode"} <= set(summary["stages"])
    info = probe(out)
    assert (info.video_codec, info.audio_codec, info.fps) == ("h264", "aac", 25.0)
    assert abs(info.duration - 3.0) < 0.1
    data = json.loads(tracks.read_text())
    assert data["kind"] == "synchrorama-tracks" and data["schema"] == 1
    assert {"alignment", "emotion", "motion", "scenes"} <= set(data)

    # the lips move with the speech, measured by independent landmarks
    from core.face.landmarks import mouth_opening
    from core.face.rig import detect_landmarks

    gaps = [mouth_opening(detect_landmarks(f)[0]) for f in list(iter_frames(out))[::3]]
    assert max(gaps) - min(gaps) > 0.08, gaps

    out2 = tmp_path / "b.mp4"
    res = run_cli("render", "--load-tracks", str(tracks), "--size", "256", "-o", str(out2))
    assert res.returncode == 0, res.stderr
    a = list(iter_frames(out))
    b = list(iter_frames(out2))
    assert len(a) == len(b)
    # same motion (rounded to 1e-4 in JSON), re-encoded: visually identical
    mse = max(np.mean((x.astype(float) - y.astype(float)) ** 2) for x, y in zip(a, b))
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-9)) > 38


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path, sample_image, sample_audio):
    out = tmp_path / "cancelled.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "render", "--image", str(sample_image),
                             "--audio", str(sample_audio), "--no-cache", "-o", str(out)],
                            cwd=REPO, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    deadline = time.time() + 120
    seen = ""
    while time.time() < deadline:
        line = proc.stderr.readline()
        seen += line
        if line.startswith("render:") or not line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "cancelled" in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_emotion_and_out_of_range_options(tmp_path):
    assert run_cli("render", "--emotion", "ecstatic", "-o", str(tmp_path / "x.mp4")).returncode == 2
    assert run_cli("render", "--size", "10", "-o", str(tmp_path / "x.mp4")).returncode == 2
    assert run_cli("render", "-o", str(tmp_path / "x.avi")).returncode == 2
