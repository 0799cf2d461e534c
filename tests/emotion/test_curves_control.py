"""Curve interpolation and user overrides of the emotion track."""

import json

import numpy as np
import pytest

from core.emotion.control import apply_user_control
from core.emotion.curves import Key, curves_from_track, evaluate_keys, load_curves, parse_curves
from core.errors import UserInputError
from core.tracks import EMOTIONS, EmotionTrack


def test_constant_linear_bezier():
    keys = [Key(0, 0, "constant"), Key(1, 1, "linear"), Key(2, 0, "bezier", out_handle=(0.5, 0.0)),
            Key(3, 1, in_handle=(-0.5, 0.0))]
    t = np.array([-1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0])
    v = evaluate_keys(keys, t)
    assert v[0] == 0 and v[1] == 0           # hold before/at the constant segment
    assert v[2] == 1 and v[3] == pytest.approx(0.5)
    assert v[4] == pytest.approx(0, abs=1e-9) and v[6] == 1 and v[7] == 1
    assert v[5] == pytest.approx(0.5, abs=1e-3)   # symmetric ease-in-out passes the midpoint
    tt = np.linspace(2.0, 2.99, 50)
    vb = evaluate_keys(keys, tt)
    assert np.all(np.diff(vb) >= -1e-9)           # monotonic between keys
    assert vb[5] < (tt[5] - 2.0)                  # eases in slower than linear


def test_parse_errors_name_the_channel(tmp_path):
    with pytest.raises(UserInputError, match="unknown channel 'joy'"):
        parse_curves({"channels": {"joy": {"keys": [{"t": 0, "v": 1}]}}})
    with pytest.raises(UserInputError, match="interp"):
        parse_curves({"channels": {"happy": {"keys": [{"t": 0, "v": 1, "interp": "cubic"}]}}})
    p = tmp_path / "c.json"
    p.write_text("{nope")
    with pytest.raises(UserInputError):
        load_curves(p)


def _track(n=50):
    t = EmotionTrack.neutral(n, 25.0)
    t.probs[:, 0] = 0.6
    t.probs[:, EMOTIONS.index("sad")] = 0.4
    t.intensity[:] = 0.4
    t.valence[:] = -0.3
    return t


def test_forced_class_and_strength():
    t = apply_user_control(_track(), "happy", 0.5)
    assert np.all(t.probs.argmax(1) == EMOTIONS.index("happy"))
    assert np.allclose(t.intensity, 0.5) and t.valence.mean() > 0.3
    n = apply_user_control(_track(), "neutral")
    assert np.allclose(n.intensity, 0)
    with pytest.raises(UserInputError):
        apply_user_control(_track(), "joyful")
    with pytest.raises(UserInputError):
        apply_user_control(_track(), "auto", 9.0)


def test_curves_override_and_blend(tmp_path):
    doc = {"kind": "synchrorama-emotion-curves", "version": 1, "channels": {
        "happy": {"keys": [{"t": 0, "v": 0.0}, {"t": 1.0, "v": 0.9}]},
        "valence": {"mode": "add", "amount": 1.0, "keys": [{"t": 0, "v": 0.5}]},
        "arousal": {"mode": "override", "amount": 0.5, "keys": [{"t": 0, "v": 1.0}]},
    }}
    p = tmp_path / "curves.json"
    p.write_text(json.dumps(doc))
    t = apply_user_control(_track(), "auto", 1.0, str(p))
    h = EMOTIONS.index("happy")
    assert t.probs[-1, h] == pytest.approx(0.9, abs=1e-3)
    assert t.probs[0, h] < 0.05
    assert np.allclose(t.probs.sum(1), 1, atol=1e-5)
    assert t.valence.mean() == pytest.approx(0.2, abs=1e-4)
    assert t.arousal.mean() == pytest.approx(0.5, abs=1e-4)
    assert np.allclose(t.intensity, 1 - t.probs[:, 0], atol=1e-5)


def test_track_round_trips_through_curves(tmp_path):
    t = _track()
    c = curves_from_track(t, 0.5)
    p = tmp_path / "c.json"
    c.save(p)
    again = apply_user_control(EmotionTrack.neutral(50, 25.0), "auto", 1.0, str(p))
    assert np.allclose(again.valence, t.valence, atol=1e-3)
    assert np.allclose(again.probs, t.probs, atol=1e-3)
