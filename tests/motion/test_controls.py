"""The user's motion controls: head-motion amount, blink rate, and life in the pauses."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserInputError
from core.io.audio import load_audio
from core.motion.a2m import A2MSettings, audio_to_motion, check_motion_settings
from core.motion.head import liveliness
from core.speech.features import analyse_audio
from core.tracks import Alignment, Phone
from tests.conftest import shared

FPS = 25.0


@pytest.fixture(scope="module")
def minute(sample_audio):
    """60 s: the sample narration four times over (it has pauses between phrases).

    A phone every second keeps the mouth on the viseme path: these tests
    are about the head, eyes and lids, not about which mouth model runs.
    """
    a = load_audio(sample_audio)
    x = np.concatenate([a.samples] * 4)[: 60 * a.sample_rate]
    phones = [Phone("AA", t + 0.2, t + 0.35) for t in range(60)]
    return analyse_audio(x, a.sample_rate), int(60 * FPS), Alignment(phones=phones, source="forced")


def _motion(minute, **kw):
    feat, n, al = minute
    return audio_to_motion(feat, FPS, n, settings=A2MSettings(**kw), alignment=al)


def _blinks(w: np.ndarray) -> int:
    shut = w > 0.5
    return int(np.sum(shut[1:] & ~shut[:-1]) + shut[0])


def test_head_motion_zero_is_still_and_the_eyes_keep_living(minute):
    feat, n, _ = minute
    m = _motion(minute, seed=4, head_motion=0.0)
    assert np.all(m.head == 0.0)
    assert _blinks(m.unit("eye_blink")) >= 5            # blinks and gaze do not depend on the head
    assert np.abs(np.diff(m.gaze, axis=0)).max() > 0.05


def test_head_motion_amount_scales_the_spread(minute):
    std = {a: _motion(minute, seed=4, head_motion=a).head[:, :3].std(0)
           for a in (0.5, 1.0, 2.0)}
    assert np.all(std[0.5] < 0.6 * std[1.0]) and np.all(std[0.5] > 0.4 * std[1.0])
    # above 1 the whole turn bends towards the renderer's 20 deg, so 2 is lively, not double
    assert np.all(std[2.0] > 1.5 * std[1.0])
    lively = _motion(minute, seed=4, head_motion=2.0).head[:, :3]
    assert np.linalg.norm(lively, axis=1).max() <= 20.0
    # same seed: amount 2 is the same performance, larger (not another random path)
    a1 = _motion(minute, seed=4, head_motion=1.0).head[:, 0]
    a2 = _motion(minute, seed=4, head_motion=2.0).head[:, 0]
    assert np.corrcoef(a1, a2)[0, 1] > 0.95


def test_blink_rate_follows_the_setting(minute):
    counts = {}
    for rate in (0.0, 10.0, 25.0):
        counts[rate] = np.mean([_blinks(_motion(minute, seed=s, blink_rate=rate).unit("eye_blink"))
                                for s in range(3)])
    assert counts[0.0] == 0
    assert 6 <= counts[10.0] <= 14, counts
    assert 18 <= counts[25.0] <= 32, counts


def test_no_stretch_is_still_in_the_pauses(minute):
    """Breathing, sway and saccades: in pauses the head still moves every frame."""
    feat, n, _ = minute
    m = _motion(minute, seed=5)
    voiced = feat.at_fps(feat.voiced.astype(np.float32), FPS, n) > 0.5
    pause = ~voiced[1:]
    assert pause.sum() > 5 * FPS                         # the narration has pauses at all
    step = np.abs(np.diff(m.head[:, :3], axis=0)).max(1)  # degrees per frame, largest axis
    assert np.mean(step[pause] < 0.01) < 0.05
    # the gaze moves more in pauses (looking away to think) than while talking
    away = np.linalg.norm(m.gaze, axis=1)
    assert away[1:][pause].mean() > 1.3 * away[1:][~pause].mean()


@pytest.mark.parametrize("head, blink", [(-0.1, 17), (2.01, 17), (float("nan"), 17), (1, -1), (1, 61),
                                         (1, float("inf"))])
def test_out_of_range_settings_are_refused(head, blink):
    with pytest.raises(UserInputError) as e:
        check_motion_settings(head, blink)
    assert ("head motion" in str(e.value)) != ("blink rate" in str(e.value))


def test_a_voice_over_music_moves_the_head_less_than_speech():
    """lp_d10's pitch spans 24 semitones (music), the HDTF speaker's 9: the head follows suit."""
    def feats(path):
        from core.io.audio import load_audio

        a = load_audio(path)
        return analyse_audio(a.samples, a.sample_rate)

    speech = liveliness(feats(shared("clips", "hdtf_KatieHill_000.mp4")))
    music = liveliness(feats(shared("clips", "lp_d10.mp4")))
    assert speech > 1.0 and music < 0.4
