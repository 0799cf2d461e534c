"""A2M on the sample narration: determinism, blinks, head motion, both mouth paths."""

from __future__ import annotations

import numpy as np
import pytest

from core.io.audio import load_audio
from core.motion.a2m import A2MSettings, audio_to_motion
from core.motion.head import merge_accents, pitch_accents
from core.speech.align import align_words, known_word
from core.speech.features import analyse_audio
from core.speech.text import normalise
from core.tracks import Alignment

FPS = 25.0


@pytest.fixture(scope="module")
def sample(sample_audio):
    from core.pipeline import sample_paths

    a = load_audio(sample_audio)
    feat = analyse_audio(a.samples, a.sample_rate)
    words = [t.word for t in normalise(sample_paths()[2].read_text(encoding="utf-8"), known_word)]
    res = align_words(a.samples, a.sample_rate, words)
    al = Alignment(words=res.words, phones=res.phones, source="forced", confidence=res.confidence)
    return a, feat, al, int(a.duration * FPS)


@pytest.fixture(scope="module")
def minute(sample):
    """60 s: the sample narration four times over."""
    a = sample[0]
    x = np.concatenate([a.samples] * 4)[: 60 * a.sample_rate]
    return analyse_audio(x, a.sample_rate), int(60 * FPS)


def test_same_seed_same_motion_other_seed_other_motion(sample):
    _, feat, al, n = sample
    m1 = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=3), alignment=al)
    m2 = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=3), alignment=al)
    m3 = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=4), alignment=al)
    assert np.array_equal(m1.weights, m2.weights) and np.array_equal(m1.head, m2.head)
    assert np.array_equal(m1.gaze, m2.gaze)
    assert not np.allclose(m1.head, m3.head)
    assert not np.array_equal(m1.unit("eye_blink"), m3.unit("eye_blink"))
    # the mouth depends on the speech only, not on the seed
    assert np.array_equal(m1.unit("jaw_open"), m3.unit("jaw_open"))


def test_phone_path_closes_lips_at_bilabials_acoustic_path_without_words(sample):
    _, feat, al, n = sample
    ph = audio_to_motion(feat, FPS, n, alignment=al)
    ac = audio_to_motion(feat, FPS, n, alignment=Alignment(source="energy"))
    bil = [p for p in al.phones if p.label in ("P", "B", "M")]
    assert len(bil) >= 5
    for p in bil:
        f = int(round((p.start + p.end) / 2 * FPS - 0.5))
        window = ph.unit("lip_close")[max(0, f - 1): f + 2]
        assert window.max() == 1.0, p
    assert ph.unit("jaw_open").max() > 0.5
    # acoustic path: the jaw moves with speech and rests in the long pauses
    jaw = ac.unit("jaw_open")
    assert jaw.std() > 0.05
    voiced = feat.at_fps(feat.voiced.astype(np.float32), FPS, n) > 0.5
    assert jaw[~voiced].mean() < 0.5 * jaw[voiced].mean()


def _blink_events(w: np.ndarray) -> list[tuple[int, int]]:
    on = np.flatnonzero(np.diff((w > 0.5).astype(int)) == 1)
    off = np.flatnonzero(np.diff((w > 0.5).astype(int)) == -1)
    return [(a, off[off > a][0]) for a in on if (off > a).any()]


def test_blink_rate_and_duration_on_a_minute(minute):
    feat, n = minute
    rates = []
    for seed in range(3):
        m = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=seed))
        w = m.unit("eye_blink")
        ev = _blink_events(w)
        rates.append(len(ev))
        # closed (>50%) for 1-5 frames: about 40-200 ms at 25 fps
        assert all(1 <= b - a <= 5 for a, b in ev)
        # whole blink (any closure) between 120 and 400 ms
        runs = _blink_events((w > 0.05).astype(float))
        assert all(3 <= b - a <= 10 for a, b in runs)
    assert all(10 <= r <= 25 for r in rates), rates


def test_head_moves_with_speech_and_settles_in_pauses(minute):
    feat, n = minute
    m = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=1))
    yaw, pitch, roll = m.head[:, 0], m.head[:, 1], m.head[:, 2]
    # real speakers: HDTF 10.1 / 6.5 / 3.1 degrees, lp_d10 (a voice over music) 1.9 / 2.9 / 1.4
    for col, lo, hi in ((yaw, 4, 16), (pitch, 2.5, 11), (roll, 1, 5)):
        assert lo < col.std() < hi
    # no periodic look: past its first zero crossing the autocorrelation of each
    # rotation stays low (the audio itself repeats every 15.2 s here)
    for col in (yaw, pitch, roll):
        p = col - col.mean()
        ac = np.correlate(p, p, "full")[len(p) - 1:] / (p @ p)
        first_zero = int(np.argmax(ac < 0))
        assert first_zero > 0 and ac[first_zero:int(20 * FPS)].max() < 0.5
    # faster motion while talking than in pauses
    voiced = feat.at_fps(feat.voiced.astype(np.float32), FPS, n) > 0.5
    speed = np.abs(np.diff(m.head[:, :3], axis=0)).sum(1)
    assert speed[voiced[1:]].mean() > 1.3 * speed[~voiced[1:]].mean()
    # arousal scales the amplitude
    from core.tracks import EmotionTrack

    calm = EmotionTrack.neutral(n, FPS)
    calm.arousal = np.full(n, -0.8, np.float32)
    m_calm = audio_to_motion(feat, FPS, n, emotion=calm, settings=A2MSettings(seed=1))
    assert m_calm.head[:, :3].std() < 0.8 * m.head[:, :3].std()


def test_nods_land_on_pitch_accents(minute):
    feat, n = minute
    acc = merge_accents(pitch_accents(feat), 0.3)
    assert len(acc) >= 12
    m = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=2, nod_gain=1.0))
    still = audio_to_motion(feat, FPS, n, settings=A2MSettings(seed=2, nod_gain=0.0))
    nod = m.head[:, 1] - still.head[:, 1]  # the accent-driven part of pitch
    at = [int((a.t + 0.05) * FPS) for a in acc if a.t * FPS < n - 5]
    assert np.mean(nod[at]) < -0.3          # chin dips around accents
    assert nod.min() < -1.0 and nod.max() <= 0.01
