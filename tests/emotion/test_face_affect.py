"""Emotion -> face: calibrated strength, valence and arousal beyond the class mix."""

import numpy as np

from core.emotion.control import force_emotion
from core.emotion.face import activations, emotion_to_motion, shown_strength
from core.tracks import EmotionTrack, MotionTrack


def _keyed(track: EmotionTrack, **channels: float) -> EmotionTrack:
    """The track with constant curve keys on the given channels (what the curve editor saves)."""
    from core.emotion.control import apply_curves
    from core.emotion.curves import parse_curves

    doc = {"kind": "synchrorama-emotion-curves", "version": 1,
           "channels": {c: {"keys": [{"t": 0.0, "v": v}]} for c, v in channels.items()}}
    return apply_curves(track, parse_curves(doc))


def _motion(track: EmotionTrack) -> MotionTrack:
    m = MotionTrack.rest(track.n_frames, track.fps)
    emotion_to_motion(m, track)
    return m


def test_shown_strength_is_monotonic_and_reaches_full_at_a_clear_analysis():
    t = np.linspace(0, 1.5, 31)
    s = shown_strength(t)
    assert np.all(np.diff(s) >= 0) and s[0] == 0
    assert shown_strength(np.array([0.75]))[0] > 0.9      # RAVDESS strong clips' median fused p
    assert abs(shown_strength(np.array([1.0]))[0] - 1.0) < 1e-6
    assert shown_strength(np.array([1.4]))[0] == np.float32(1.4)   # exaggeration above 1 kept


def test_a_clear_happy_analysis_shows_nearly_full_strength():
    tr = EmotionTrack.neutral(4, 25.0)
    tr.probs[:] = 0
    k = list(tr.classes)
    tr.probs[:, k.index("happy")] = 0.69
    tr.probs[:, k.index("neutral")] = 0.31
    tr.intensity[:] = 0.69
    a = activations(tr)["happy"]
    assert np.all(a > 0.9), a


def test_valence_moves_the_face_along_smile_and_frown():
    w = {}
    for v in (-1.0, 0.0, 1.0):
        w[v] = _motion(_keyed(EmotionTrack.neutral(4, 25.0), valence=v))
    u = list(w[0.0].units)
    assert np.allclose(w[0.0].weights, 0)   # a neutral track leaves the portrait alone
    assert w[1.0].unit("expr_happy").min() > 0.9
    assert w[-1.0].unit("expr_sad").min() > 0.5 and w[-1.0].unit("expr_happy").max() == 0
    assert w[1.0].unit("lip_corner_pull").min() > w[-1.0].unit("lip_corner_pull").max()
    assert "expr_happy" in u


def test_arousal_opens_the_eyes_and_calm_lowers_the_lids():
    mh = _motion(_keyed(EmotionTrack.neutral(4, 25.0), arousal=0.9))
    ml = _motion(_keyed(EmotionTrack.neutral(4, 25.0), arousal=-0.9))
    assert mh.unit("upper_lid_raise").min() > 0.4 and ml.unit("upper_lid_raise").max() == 0
    assert ml.unit("eye_blink").min() > 0.15 and mh.unit("eye_blink").max() == 0


def test_forced_emotion_is_not_doubled_by_its_own_valence():
    """A forced class carries its circumplex valence: nothing extra is added for it."""
    t = force_emotion(EmotionTrack.neutral(4, 25.0), "happy")
    m = _motion(t)
    assert abs(m.unit("expr_happy").mean() - 1.0) < 1e-5
    assert m.unit("expr_sad").max() == 0


def test_exaggerated_strength_adds_no_opposite_emotion():
    from core.emotion.control import apply_user_control

    t = apply_user_control(EmotionTrack.neutral(4, 25.0), "happy", 2.0)
    m = _motion(t)
    assert m.unit("expr_happy").min() > 1.2           # exaggerated past the actors' level 3
    assert m.unit("expr_sad").max() == 0 and m.unit("expr_angry").max() == 0


def test_a_negative_valence_key_overrides_a_happy_analysis():
    m = _motion(_keyed(force_emotion(EmotionTrack.neutral(4, 25.0), "happy"), valence=-1.0))
    assert m.unit("expr_happy").max() < 0.05
    assert m.unit("expr_sad").min() > 0.3 or m.unit("brow_lower").min() > 0.3


def test_the_analysis_own_valence_does_not_undo_its_classes():
    """Fused valence is a separate, noisier estimate: without a user key only the classes speak."""
    t = force_emotion(EmotionTrack.neutral(4, 25.0), "happy")
    t.valence[:] = 0.1          # e.g. the sample narration: happy classes, valence 0.1
    t.arousal[:] = 0.9
    m = _motion(t)
    assert m.unit("expr_happy").min() > 0.9
    assert m.unit("upper_lid_raise").max() == 0


def _mixed(n: int = 4, **probs: float) -> EmotionTrack:
    tr = EmotionTrack.neutral(n, 25.0)
    tr.probs[:] = 0
    k = list(tr.classes)
    for c, p in probs.items():
        tr.probs[:, k.index(c)] = p
    tr.probs[:, k.index("neutral")] = 1 - sum(probs.values())
    tr.intensity[:] = sum(probs.values())
    return tr


def test_the_leading_class_carries_the_face_in_a_blended_analysis():
    # a surprised RAVDESS line as fused: surprise 0.31, fear 0.13, disgust 0.10
    tr = _mixed(surprised=0.31, fearful=0.13, disgusted=0.10)
    a = activations(tr)
    total_before = 0.31 + 0.13 + 0.10
    share = a["surprised"][0] / sum(v[0] for v in a.values())
    assert share > 0.75 > 0.31 / total_before           # was 0.57 of the face as a plain blend
    assert a["disgusted"][0] < 0.1 * a["surprised"][0] * 1.5
    # the total shown strength is what the calibration gives the summed activation
    assert abs(sum(v[0] for v in a.values()) - shown_strength(np.array([total_before]))[0]) < 1e-4


def test_classes_keyed_by_the_user_keep_their_mix():
    tr = _keyed(EmotionTrack.neutral(4, 25.0), happy=0.5, surprised=0.3)
    a = activations(tr)
    assert abs(a["happy"][0] / a["surprised"][0] - 0.5 / 0.3) < 0.02


def test_brow_lower_knits_the_inner_ends_most():
    """Anger's brows: a "V" (inner ends down and together more than the outer ends), not a level drop."""
    from core.face.landmarks import LEFT_BROW, RIGHT_BROW
    from core.render.mesh_units import build_unit_fields
    from core.units import UNIT_NAMES
    from pathlib import Path

    from core.face.rig import load_rig

    rig = load_rig(Path(__file__).resolve().parents[2] / "resources" / "sample" / "portrait.png")
    _, fields = build_unit_fields(rig.landmarks)
    f = fields[UNIT_NAMES.index("brow_lower")]
    for brow in (RIGHT_BROW, LEFT_BROW):
        inner, outer = (55, 46) if brow is RIGHT_BROW else (285, 276)
        assert f[inner, 1] > 1.3 * f[outer, 1] > 0            # down (canonical y grows downwards)
        assert abs(f[inner, 0]) > abs(f[outer, 0])            # drawn towards the nose more
