"""--head-motion and --blink-rate on the command line, and in a project rendered with --project."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("args, name", [(["--head-motion", "2.5"], "--head-motion"),
                                        (["--head-motion", "-0.5"], "--head-motion"),
                                        (["--blink-rate", "90"], "--blink-rate"),
                                        (["--blink-rate", "nan"], "--blink-rate")])
def test_out_of_range_motion_options_exit_2_with_one_line(tmp_path, args, name):
    out = tmp_path / "x.mp4"
    res = run_cli("render", *args, "-o", str(out))
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.strip().splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and name in lines[0] and "Use " in lines[0], res.stderr
    assert not out.exists()


def test_motion_options_cannot_override_a_project(tmp_path):
    from core.project import Project

    f = Project(name="p", portrait="a.png", narration="b.wav").save(tmp_path / "p")
    res = run_cli("render", "--project", str(f), "--head-motion", "0", "-o", str(tmp_path / "x.mp4"))
    assert res.returncode == 2 and "--head-motion" in res.stderr


def _captured_tracks(monkeypatch):
    """Run the CLI in-process and keep the tracks it hands to the renderer (nothing is encoded)."""
    import core.pipeline as pipeline
    from core.pipeline import RenderResult

    seen = []

    def fake_render_tracks(rig, tracks, audio, output, **kw):
        seen.append(tracks)
        return RenderResult(str(output), tracks.motion.n_frames, tracks.duration, 2, 2, {}, [])

    monkeypatch.setattr(pipeline, "render_tracks", fake_render_tracks)
    return seen


@pytest.mark.parametrize("amount", [0.0, 2.0])
def test_project_head_motion_and_blink_rate_are_honoured_by_render_project(tmp_path, monkeypatch,
                                                                          sample_image, short_audio, amount):
    from core.cli import main
    from core.project import Project

    seen = _captured_tracks(monkeypatch)
    p = Project(name="p", portrait=str(sample_image), narration=str(short_audio), script="",
                head_motion=amount, blink_rate=0.0)
    f = p.save(tmp_path / "p")
    assert main(["render", "--project", str(f), "-o", str(tmp_path / "o.mp4")]) == 0
    (tracks,) = seen
    head = tracks.motion.head[:, :3]
    if amount == 0:
        assert np.all(head == 0)
    else:
        assert head[:, 0].std() > 2.0          # degrees: clearly moving at amount 2
    assert tracks.motion.unit("eye_blink").max() == 0     # blink rate 0 from the project
    assert tracks.settings["head_motion"] == amount and tracks.settings["blink_rate"] == 0.0


def test_cli_head_motion_reaches_the_motion(tmp_path, monkeypatch, sample_image, short_audio):
    from core.cli import main

    seen = _captured_tracks(monkeypatch)
    common = ["render", "--image", str(sample_image), "--audio", str(short_audio), "-o", str(tmp_path / "o.mp4")]
    assert main(common + ["--head-motion", "0"]) == 0
    assert main(common + ["--head-motion", "1"]) == 0
    still, natural = seen
    assert np.all(still.motion.head[:, :3] == 0)
    assert natural.motion.head[:, 0].std() > 1.0
