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
    from core.emotion.measure import FaceReader

    return FaceReader(shared("portraits", "lp_s1.jpg"))


@pytest.mark.parametrize("emotion,fer", [("happy", "happy"), ("angry", "angry")])
def test_forced_emotion_reads_as_intended_on_dev_portrait(dev_reader, emotion, fer):
    from core.emotion.fusion import portrait_expression
    from core.emotion.measure import steady_motion

    pts = dev_reader.rig.landmarks[:, :2]
    pe = portrait_expression(dev_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = dev_reader.read_motion(steady_motion(emotion, pe), frames=[6])
    assert r.top == fer, r.mean_probs
    assert r.identity < 0.4


@pytest.fixture(scope="module")
def mead_reader(tmp_path_factory):
    from core.emotion.measure import FaceReader
    from core.io.image import save_png

    png = tmp_path_factory.mktemp("mead") / "M030_neutral_40.png"
    save_png(png, _frame(shared("emotion_faces", "M030_front_neutral_level1_001.mp4")))
    return FaceReader(png)


def test_forced_surprise_reads_as_surprise_on_a_neutral_mead_face(mead_reader):
    from core.emotion.fusion import portrait_expression
    from core.emotion.measure import steady_motion

    pts = mead_reader.rig.landmarks[:, :2]
    pe = portrait_expression(mead_reader.rig.image, (*pts.min(0), *pts.max(0)))
    r = mead_reader.read_motion(steady_motion("surprised", pe), frames=[6])
    assert r.top == "surprise", r.mean_probs
    assert r.identity < 0.4
