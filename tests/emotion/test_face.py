"""Emotion -> face: the right AUs rise, head posture follows."""

import numpy as np
import pytest

from core.emotion.control import force_emotion
from core.emotion.face import emotion_to_motion, prototypes
from core.tracks import EMOTIONS, EmotionTrack, MotionTrack

EXPECT = {
    "happy": ["lip_corner_pull", "cheek_raise"],
    "sad": ["brow_inner_up", "lip_corner_depress"],
    "surprised": ["brow_inner_up", "brow_outer_up", "upper_lid_raise"],
    "angry": ["brow_lower", "lid_tighten"],
    "fearful": ["brow_inner_up", "upper_lid_raise"],
    "disgusted": ["nose_wrinkle", "upper_lip_raise"],
    "contempt": ["contempt_corner"],
}


def _motion(n=50):
    m = MotionTrack.rest(n, 25.0)
    rng = np.random.default_rng(0)
    m.head[:, :3] = rng.normal(0, 2, (n, 3))
    return m


@pytest.mark.parametrize("emotion", list(EXPECT))
def test_forced_emotion_raises_its_units(emotion):
    m = _motion()
    emotion_to_motion(m, force_emotion(EmotionTrack.neutral(50, 25.0), emotion))
    for u in EXPECT[emotion]:
        assert m.unit(u).mean() > 0.2, (emotion, u)
    others = [u for u in ("lip_corner_pull", "brow_lower", "nose_wrinkle")
              if u not in prototypes()[emotion]]
    for u in others:
        assert m.unit(u).max() < 0.05, (emotion, u)
    assert m.weights.max() <= 1


def test_neutral_changes_nothing():
    m = _motion()
    before = m.weights.copy(), m.head.copy()
    emotion_to_motion(m, EmotionTrack.neutral(50, 25.0))
    assert np.allclose(m.weights, before[0]) and np.allclose(m.head, before[1], atol=1e-4)


def test_sad_lowers_and_calms_the_head():
    m = _motion(100)
    base = m.head.copy()
    emotion_to_motion(m, force_emotion(EmotionTrack.neutral(100, 25.0), "sad"))
    assert m.head[:, 1].mean() < base[:, 1].mean() - 3
    assert m.head[:, 0].std() < base[:, 0].std()


def test_smiling_portrait_is_not_double_smiled():
    e = force_emotion(EmotionTrack.neutral(20, 25.0), "happy")
    m1, m2 = _motion(20), _motion(20)
    emotion_to_motion(m1, e)
    e.sources["portrait_happy"] = 0.9
    emotion_to_motion(m2, e)
    assert m2.unit("lip_corner_pull").mean() < 0.5 * m1.unit("lip_corner_pull").mean()


def test_strength_scales_units():
    from core.emotion.control import apply_user_control

    e = EmotionTrack.neutral(20, 25.0)
    lo, hi = _motion(20), _motion(20)
    emotion_to_motion(lo, apply_user_control(e, "angry", 0.5))
    emotion_to_motion(hi, apply_user_control(e, "angry", 1.0))
    assert lo.unit("brow_lower").mean() < hi.unit("brow_lower").mean()
