"""Measured on real footage: self-reenactment of the dev clips (skips without ../shared/data).

Figures asserted here are what this A2M reaches, with a margin (docs/a2m.md
has the measured values and the bench table). The HDTF clip is clean
speech; lp_d10 is music with no English words, where our mouth peaks 4 frames
before the singer's (whether the clip's video trails its audio is not settled,
docs/a2m.md), so only the fallback is checked there.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared


@pytest.fixture(scope="module")
def katie(tmp_path_factory):
    from bench import a2m_clips as ac

    shared("clips", "hdtf_KatieHill_000.mp4")
    work = tmp_path_factory.mktemp("katie")
    real = ac.measure_real("hdtf_KatieHill_000", work)
    variant, base = ac.measure_variant(real, "script", ac.CLIPS["hdtf_KatieHill_000"], work)
    return real, variant, base


def test_katie_mouth_follows_the_real_speaker(katie):
    real, v, base = katie
    assert v.source == "forced"
    # measured 0.46-0.53 at lag +1 (seeds 0-3); naive phone curve 0.13, loudness 0.14
    assert v.corr >= 0.40, v
    assert abs(v.lag) <= 2, v
    assert v.corr >= base["naive_phones"][0] + 0.15, (v.corr, base)
    assert v.corr >= base["loudness"][0] + 0.15, (v.corr, base)


def test_katie_mouth_moves_as_wide_as_the_real_speaker(katie):
    real, v, _ = katie
    from core.eval.lipsync import opening_spread

    # issue 15: spread (5-95 % of the inner-lip gap) 0.8-1.25x the real speaker's (0.228 eye widths);
    # measured 0.90 here (512 px), 0.88 before the lips shut in pauses
    ratio = v.extras["mouth_spread"] / opening_spread(real.opening)
    assert 0.8 <= ratio <= 1.25, (ratio, v.extras)


def test_katie_lips_shut_in_her_pause(katie):
    """After "orientation" she pauses with her lips shut (0.00 eye widths, 4.5-4.8 s)."""
    real, v, _ = katie
    rest = slice(int(4.52 * real.fps), int(4.8 * real.fps))
    assert np.nanmax(real.opening[rest]) < 0.01
    # ours: 0.17 of our speaking median there (0.029 eye widths; mediapipe reads this portrait's
    # rendered shut lips as 0.01-0.02), 0.22 since the jaw's top was widened (the pause's first frame
    # still closing); 0.34 when the pause closed the lips only to 0.7 (docs/a2m.md)
    share = np.nanmean(v.opening[rest]) / v.extras["mouth_median"]
    assert share < 0.25, (share, v.opening[rest], v.extras)


def test_katie_lips_close_at_every_bilabial(katie):
    _, v, _ = katie
    assert v.bilabial_count >= 4
    assert v.bilabial_rate == 1.0, v


def test_katie_blinks_and_head_in_a_natural_range(katie):
    real, v, _ = katie
    assert 7 <= v.motion["blinks_per_min"] <= 30      # 8 s: 1-4 blinks
    # issue 15: yaw and pitch spread within 0.7-1.4x the real speaker's (10.1 and 6.5 deg);
    # rendered and measured: 0.80-0.86 and 0.75-1.09 over seeds 0-2 (docs/a2m.md); the old drift gave 0.34 and 0.16.
    for axis in ("yaw_std_deg", "pitch_std_deg"):
        assert 0.7 <= v.motion[axis] / real.motion[axis] <= 1.4, (axis, v.motion, real.motion)


def test_music_clip_falls_back_to_the_acoustic_mouth():
    from core.io.audio import load_audio
    from core.speech.timing import speech_timing

    clip = shared("clips", "lp_d10.mp4")
    al = speech_timing(load_audio(clip), None)
    assert al.source == "energy" and not al.words
    assert any("English" in w for w in al.warnings)
