"""Fusion: shapes, confidence weighting, smoothing, pipeline entry point."""

import numpy as np
import pytest

from core.emotion.fusion import analyse_emotion, attack_release, fuse
from core.emotion.text import TextTrack
from core.tracks import EMOTIONS, Alignment
from tests.conftest import shared


def _onehot(T, name, conf):
    p = np.zeros((T, len(EMOTIONS)), np.float32)
    p[:, EMOTIONS.index(name)] = 1
    return p, np.full(T, conf, np.float32)


def test_confident_source_wins():
    T = 100
    sp, sc = _onehot(T, "angry", 0.9)
    tp, tc = _onehot(T, "happy", 0.2)
    text = TextTrack(np.full(T, 0.6, np.float32), np.zeros(T, np.float32), tp, tc)
    tr, used = fuse(T, 25.0, ser_probs=sp, ser_val=np.full(T, -0.6), ser_aro=np.full(T, 0.8),
                    ser_conf=sc, text=text)
    assert tr.probs.shape == (T, len(EMOTIONS)) and tr.valence.shape == (T,)
    assert np.allclose(tr.probs.sum(1), 1, atol=1e-5)
    assert EMOTIONS[int(tr.probs.mean(0).argmax())] == "angry"
    assert set(used) == {"ser", "text"}


def test_no_evidence_is_neutral():
    tr, _ = fuse(20, 25.0)
    assert np.allclose(tr.probs[:, 0], 1) and np.allclose(tr.intensity, 0)


def test_attack_release_removes_flicker():
    x = np.zeros((200, 1), np.float32)
    x[100:102] = 1.0                       # a two-frame blip
    y = attack_release(x, 25.0, 0.3, 1.0)
    assert y.max() < 0.35
    step = np.zeros((200, 1), np.float32)
    step[100:] = 1
    s = attack_release(step, 25.0, 0.3, 1.0)
    assert s[-1, 0] > 0.95 and s[0, 0] < 0.05
    assert np.abs(np.diff(s[:, 0])).max() < 0.1


@pytest.mark.data
def test_analyse_emotion_on_held_out_clip():
    from core.io.audio import load_audio
    from core.speech.features import analyse_audio

    path = shared("emotion_speech", "ravdess", "Actor_20", "03-01-04-02-01-01-20.flac")
    audio = load_audio(path)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    n = int(audio.duration * 25)
    tr = analyse_emotion(audio, feats, Alignment(script="Kids are talking by the door."), 25.0, n)
    assert tr.n_frames == n and tr.probs.shape == (n, len(EMOTIONS))
    assert EMOTIONS[int(tr.probs.mean(0).argmax())] == "sad"
    assert tr.valence.mean() < 0 and {"ser", "prosody", "text"} <= set(tr.sources)
    assert np.abs(np.diff(tr.probs, axis=0)).max() < 0.2
