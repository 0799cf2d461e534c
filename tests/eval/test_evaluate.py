"""Whole-video yardsticks on videos with a known answer (and the CLI around them)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli import main
from core.eval import evaluate
from core.eval.lipsync import pearson

CONTRACT_KEYS = {
    "": {"video", "frames", "fps", "face_frames", "lipsync", "identity", "expression", "motion", "image"},
    "lipsync": {"mouth_audio_corr", "mouth_audio_lag", "gt_corr", "gt_lag", "bilabial_closure_rate",
                "bilabial_count", "mouth_spread", "gt_mouth_spread", "mouth_spread_ratio"},
    "identity": {"distance_mean", "distance_max"},
    "expression": {"classes", "mean_probs", "top", "expect", "agreement"},
    "motion": {"yaw_std_deg", "pitch_std_deg", "roll_std_deg", "yaw_speed_deg_s", "pitch_speed_deg_s",
               "roll_speed_deg_s", "blinks_per_min", "jitter", "frozen_fraction", "still_fraction"},
    "image": {"psnr", "ssim"},
}


@pytest.fixture(scope="module")
def talking_result(talking):
    return evaluate(talking.path)


def test_mouth_opening_follows_the_rendered_jaw_curve(talking, talking_result):
    res = talking_result
    assert res.face_frames == res.frames == len(talking.jaw)
    shut = np.zeros(len(talking.jaw), bool)
    for c in talking.closed_frames:
        shut[c - 1:c + 2] = True
    # where the lips are pressed shut the opening follows the closure, not the jaw
    assert pearson(res.opening[~shut], talking.jaw[~shut]) > 0.95
    at_rest = (talking.jaw < 0.05) & ~shut
    assert res.opening[shut].max() < 0.5 * res.opening[at_rest].min()


def test_blinks_roll_and_motion_of_the_rendered_video(talking, talking_result):
    m = talking_result.to_dict()["motion"]
    minutes = len(talking.jaw) / 25.0 / 60
    assert m["blinks_per_min"] == pytest.approx(len(talking.blink_frames) / minutes)
    measured_roll = talking_result.angles[:, 2] - np.nanmean(talking_result.angles[:, 2])
    assert pearson(measured_roll, talking.roll) > 0.97
    assert m["roll_std_deg"] == pytest.approx(np.std(talking.roll), rel=0.2)
    assert m["yaw_std_deg"] < 1.5 and m["frozen_fraction"] == 0.0


def test_static_video_is_frozen_still_and_blinkless(static):
    d = evaluate(static.path).to_dict()
    m = d["motion"]
    assert m["frozen_fraction"] > 0.95
    assert m["jitter"] < 0.002
    assert max(m["yaw_std_deg"], m["pitch_std_deg"], m["roll_std_deg"]) < 0.2
    assert m["blinks_per_min"] == 0.0
    assert d["lipsync"]["mouth_audio_corr"] is None   # no audio track, no --audio


def test_real_clip_against_itself_and_a_shifted_copy(real_clip):
    head, shifted = real_clip
    same = evaluate(head, gt=head).to_dict()
    assert same["lipsync"]["gt_corr"] == pytest.approx(1.0) and same["lipsync"]["gt_lag"] == 0
    assert same["image"]["psnr"] == 100.0 and same["image"]["ssim"] == pytest.approx(1.0)
    # shifted[t] = head[t + 2]: our video runs 2 frames early
    moved = evaluate(shifted, gt=head, max_lag=3).to_dict()
    assert moved["lipsync"]["gt_lag"] == -2 and moved["lipsync"]["gt_corr"] > 0.95
    assert moved["image"]["psnr"] < same["image"]["psnr"] and moved["image"]["ssim"] < 0.999


def test_cli_json_has_exactly_the_contract_keys(talking, tmp_path, capsys):
    from core.tracks import (Alignment, EmotionTrack, MediaRef, MotionTrack, Phone, SceneTrack,
                             Tracks)

    fps, n = 25.0, len(talking.jaw)
    # bilabials where the rendered lips are pressed shut, and one where the jaw is wide open
    phones = [Phone("M", (f - 1) / fps, (f + 2) / fps) for f in talking.closed_frames]
    phones.append(Phone("P", 35 / fps, 38 / fps))
    tracks = Tracks(fps=fps, duration=n / fps, audio=MediaRef("", ""), portrait=MediaRef("", ""),
                    alignment=Alignment(phones=phones), emotion=EmotionTrack.neutral(n, fps),
                    scenes=SceneTrack(), motion=MotionTrack.rest(n, fps))
    tracks.save(tmp_path / "t.json")
    report = tmp_path / "report"
    rc = main(["eval", str(talking.path), "--tracks", str(tmp_path / "t.json"), "--expect", "happy",
               "--json", "--report", str(report)])
    assert rc == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for section, keys in CONTRACT_KEYS.items():
        assert set(d[section] if section else d) == keys, section
    assert d["lipsync"]["bilabial_count"] == 3
    assert d["lipsync"]["bilabial_closure_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert d["expression"]["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert sum(d["expression"]["mean_probs"].values()) == pytest.approx(1.0, abs=1e-3)
    assert d["expression"]["expect"] == "happy" and 0 <= d["expression"]["agreement"] <= 1
    assert {p.name for p in report.iterdir()} >= {"mouth.png", "expression.png", "eval.json"}
    rc = main(["eval", str(talking.path)])
    out = capsys.readouterr().out
    assert rc == 0 and "blinks per minute" in out and "lip-sync" in out


def test_bad_inputs_exit_2_naming_the_problem(tmp_path, capsys):
    from core.io.video import ExportSettings, Mp4Writer

    blank = tmp_path / "blank.mp4"
    with Mp4Writer(blank, 64, 64, None, ExportSettings(fps=25)) as out:
        for i in range(5):
            out.write(np.full((64, 64, 3), 40 * i, np.uint8))
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    cases = [([str(tmp_path / "missing.mp4")], "not found"),
             ([str(text)], "video"),
             ([str(blank)], "no face"),
             ([str(blank), "--expect", "contempt"], "contempt")]
    for args, words in cases:
        assert main(["eval", *args]) == 2, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
