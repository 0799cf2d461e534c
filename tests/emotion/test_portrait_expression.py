"""The portrait's own expression (fer) changes what an emotion adds, and renders read as intended."""

import numpy as np
import pytest

from core.emotion.face import portrait_units, unit_offsets, activations
from core.emotion.control import force_emotion
from core.tracks import EmotionTrack, MotionTrack
from tests.conftest import shared


def _frame(path, index: int = 40) -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    cap.release()
    assert ok, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _applied(portrait_rgb: np.ndarray, emotion: str) -> tuple[dict, MotionTrack]:
    from core.emotion.face import emotion_to_motion
    from core.emotion.fusion import portrait_expression

    pe = portrait_expression(portrait_rgb)
    assert pe, "fer found no face"
    t = force_emotion(EmotionTrack.neutral(10, 25.0), emotion)
    t.sources.update({f"portrait_{k}": v for k, v in pe.items()})
    m = MotionTrack.rest(10, 25.0)
    emotion_to_motion(m, t)
    return pe, m


def test_smiling_mead_frame_gets_less_smile_than_neutral_frame():
    faces = "emotion_faces"
    smile, _ = _applied(_frame(shared(faces, "M030_front_happy_level3_001.mp4")), "happy")
    neutral, _ = _applied(_frame(shared(faces, "M030_front_neutral_level1_001.mp4")), "happy")
    assert smile["happy"] > 0.6 and neutral["happy"] < 0.3, (smile, neutral)
    _, m_smile = _applied(_frame(shared(faces, "M030_front_happy_level3_001.mp4")), "happy")
    _, m_neutral = _applied(_frame(shared(faces, "M030_front_neutral_level1_001.mp4")), "happy")
    assert m_smile.unit("lip_corner_pull").mean() < 0.5 * m_neutral.unit("lip_corner_pull").mean()
    assert m_neutral.unit("lip_corner_pull").mean() > 0.5


def test_smiling_portrait_made_sad_gets_corners_pulled_down_harder():
    units = list(MotionTrack.rest(1, 25.0).units)
    acts = activations(force_emotion(EmotionTrack.neutral(5, 25.0), "sad"))
    plain = unit_offsets(acts, units, 5, {})
    smiling = unit_offsets(acts, units, 5, portrait_units({"portrait_happy": 0.95}))
    j = units.index("lip_corner_depress")
    assert smiling[:, j].mean() > plain[:, j].mean() or plain[:, j].mean() >= 1.0
    # and with no emotion the smiling photo is left alone
    none = unit_offsets(activations(EmotionTrack.neutral(5, 25.0)), units, 5,
                        portrait_units({"portrait_happy": 0.95}))
    assert np.allclose(none, 0)


@pytest.fixture(scope="module")
def dev_reader():
    from core.eval.emotion_reading import FaceReader

    return FaceReader(shared("portraits", "lp_s1.jpg"))


@pytest.mark.parametrize("emotion,fer", [("happy", "happy"), ("angry", "angry"), ("sad", "sad")])
def test_forced_emotion_reads_as_intended_on_dev_portrait(dev_reader, emotion, fer):
    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import steady_motion

    pts = dev_reader.rig.landmarks[:, :2]
    pe = portrait_expression(dev_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = dev_reader.read_motion(steady_motion(emotion, pe), frames=[6])
    assert r.top == fer, r.mean_probs
    assert r.identity < 0.45   # the bar (sad measured 0.400, happy 0.27, angry 0.32)


@pytest.fixture(scope="module")
def mead_reader(tmp_path_factory):
    from core.eval.emotion_reading import FaceReader
    from core.io.image import save_png

    png = tmp_path_factory.mktemp("mead") / "M030_neutral_40.png"
    save_png(png, _frame(shared("emotion_faces", "M030_front_neutral_level1_001.mp4")))
    return FaceReader(png)


def test_forced_surprise_reads_as_surprise_on_a_neutral_mead_face(mead_reader):
    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import steady_motion

    pts = mead_reader.rig.landmarks[:, :2]
    pe = portrait_expression(mead_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = mead_reader.read_motion(steady_motion("surprised", pe), frames=[6])
    assert r.top == "surprise", r.mean_probs
    assert r.identity < 0.4


@pytest.fixture(scope="module")
def bw_reader():
    from core.eval.emotion_reading import FaceReader

    return FaceReader(shared("portraits", "lp_s2.jpg"))


@pytest.mark.parametrize("emotion,fer", [("happy", "happy"), ("sad", "sad")])
def test_learned_expressions_read_on_a_neutral_mead_face(mead_reader, emotion, fer):
    """The learned units (actors' shape + skin folds) read as their class on an unseen-by-eye face."""
    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import steady_motion

    pts = mead_reader.rig.landmarks[:, :2]
    pe = portrait_expression(mead_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = mead_reader.read_motion(steady_motion(emotion, pe), frames=[6])
    assert r.top == fer, r.mean_probs
    assert r.identity < 0.45


def test_forced_sad_reads_sad_on_the_black_and_white_photo(bw_reader):
    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import steady_motion

    pts = bw_reader.rig.landmarks[:, :2]
    pe = portrait_expression(bw_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = bw_reader.read_motion(steady_motion("sad", pe), frames=[6])
    assert r.top == "sad" and r.mean_probs["sad"] > 0.5, r.mean_probs
    assert r.identity < 0.45


def test_a_grinning_photo_made_sad_loses_its_grin():
    """The sample astronaut grins; forced sad undoes the learned smile (negative weight)."""
    from pathlib import Path

    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import FaceReader, steady_motion
    from core.units import UNIT_NAMES

    fr = FaceReader(Path(__file__).resolve().parents[2] / "resources" / "sample" / "portrait.png")
    pts = fr.rig.landmarks[:, :2]
    pe = portrait_expression(fr.rig.image, (*pts.min(0), *pts.max(0)))
    assert pe.get("happy", 0) > 0.5, pe
    m = steady_motion("sad", pe)
    assert m.weights[6, UNIT_NAMES.index("expr_happy")] < -0.8   # a full grin is undone entirely
    before = fr.read_motion(steady_motion("neutral", pe), frames=[6], identity=False)
    after = fr.read_motion(m, frames=[6])
    # measured: happy 1.00 -> 0.59-0.71 with the actors' whole sad face (2026-12-02 early), 1.00 -> 0.79
    # with 0.6 of it (later the same day; that made lp_s1 and M030 read sad instead of disgust/neutral).
    # fer still reads the teeth as a smile: the "reads sad" is not reached on this grin (docs/emotion.md)
    assert before.top == "happy" and after.mean_probs["happy"] < before.mean_probs["happy"] - 0.15, after.mean_probs
    assert after.mean_probs["fear"] + after.mean_probs["sad"] > before.mean_probs["fear"] + before.mean_probs["sad"]
