from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import UserInputError
from core.tracks import (
    Alignment, EmotionTrack, MediaRef, MotionTrack, Phone, SceneSegment, SceneTrack, Tracks, Word,
)


def _tracks(n=30) -> Tracks:
    rng = np.random.default_rng(1)
    motion = MotionTrack.rest(n, 25)
    motion.weights[:] = rng.random(motion.weights.shape).round(4)
    motion.head[:] = rng.normal(0, 2, motion.head.shape).round(4)
    emo = EmotionTrack.neutral(n, 25)
    emo.valence[:] = np.linspace(-1, 1, n).round(4)
    return Tracks(
        fps=25, duration=n / 25, audio=MediaRef("a.wav", "ab" * 32), portrait=MediaRef("p.png", "cd" * 32),
        alignment=Alignment("hi there", [Word("hi", 0.1, 0.3)], [Phone("HH", 0.1, 0.2, 0)], "forced", 0.9),
        emotion=emo, scenes=SceneTrack([SceneSegment(0.0, 1.0, "smiles")]), motion=motion,
        settings={"seed": 3},
    )


def test_round_trip_is_exact(tmp_path):
    t = _tracks()
    path = tmp_path / "t.json"
    t.save(path)
    back = Tracks.load(path)
    assert back.to_dict() == t.to_dict()
    np.testing.assert_allclose(back.motion.weights, t.motion.weights, atol=1e-4)
    assert back.alignment.words[0].text == "hi"


def test_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserInputError, match="bad.json"):
        Tracks.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(UserInputError, match="not a SynchroRaMa"):
        Tracks.load(other)
    newer = _tracks().to_dict()
    newer["schema"] = 99
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(UserInputError, match="newer"):
        Tracks.load(tmp_path / "newer.json")


def test_old_unit_lists_are_remapped():
    d = _tracks(5).motion.to_dict()
    d["units"] = ["jaw_open", "retired_unit"]
    d["weights"] = [[0.5, 0.9]] * 5
    m = MotionTrack.from_dict(d)
    assert np.allclose(m.unit("jaw_open"), 0.5)
    assert m.weights.shape[1] == len(m.units)


def test_cache_keys_change_with_the_analysis_code(monkeypatch):
    from core import cache

    before = cache.cache_key("alignment", "abc")
    cache.code_fingerprint.cache_clear()
    monkeypatch.setattr(cache, "_ANALYSIS_PACKAGES", ("speech",))
    try:
        assert cache.cache_key("alignment", "abc") != before
        assert cache.cache_key("alignment", "abc") == cache.cache_key("alignment", "abc")
    finally:
        cache.code_fingerprint.cache_clear()
