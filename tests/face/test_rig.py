from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserInputError
from core.face.landmarks import eye_aspect_ratio, mouth_opening
from core.face.rig import build_rig, load_rig
from core.io.image import load_image
from tests.conftest import shared


def test_sample_portrait_has_one_face(sample_image):
    rig = load_rig(sample_image)
    assert rig.n_faces == 1 and rig.landmarks.shape == (478, 3)
    assert 60 < rig.box.width < 300
    assert 0.15 < eye_aspect_ratio(rig.landmarks) < 0.5
    # the sample smiles with parted lips, teeth showing: 0.116 of the eye-corner distance measured
    assert 0.06 < mouth_opening(rig.landmarks) < 0.2


def test_mouth_opening_is_the_lip_gap_over_the_eye_distance(sample_image):
    """Lips brought together read 0; the lower lip lowered by a quarter of the eye-corner distance
    reads 0.25, at any scale of the face."""
    pts = load_rig(sample_image).landmarks.astype(np.float64)
    eyes = float(np.linalg.norm(pts[33, :2] - pts[263, :2]))
    pts[14, :2] = pts[13, :2]
    assert mouth_opening(pts) == pytest.approx(0.0, abs=1e-9)
    pts[14, 1] += 0.25 * eyes
    assert mouth_opening(pts) == pytest.approx(0.25, rel=1e-4)
    assert mouth_opening(3.0 * pts) == pytest.approx(0.25, rel=1e-4)


def test_closed_lips_read_closed():
    """A portrait with the lips together (st_sad: 0.001 measured) is far below the open sample."""
    assert mouth_opening(load_rig(shared("portraits", "st_sad.png")).landmarks) < 0.02


def test_dog_has_no_face():
    with pytest.raises(UserInputError, match="no face") as err:
        load_rig(shared("portraits", "lp_s30.jpg"))
    assert "lp_s30.jpg" in str(err.value)


def test_blank_image_has_no_face():
    with pytest.raises(UserInputError, match="no face"):
        build_rig(np.full((300, 300, 3), 127, np.uint8), path="blank.png")


def test_several_faces_largest_first_and_selectable(sample_image):
    import cv2

    img = load_image(sample_image)
    small = cv2.resize(img, (384, 384))
    canvas = np.full((512, 512 + 384, 3), 200, np.uint8)
    canvas[:, :512] = img
    canvas[64:448, 512:] = small
    rig = build_rig(canvas)
    assert rig.n_faces == 2
    assert rig.box.x1 < 512  # the larger (left) face by default
    second = build_rig(canvas, face=1)
    assert second.box.x0 > 512
    with pytest.raises(UserInputError, match="--face"):
        build_rig(canvas, face=5)


def test_large_photo_keeps_full_resolution(sample_image):
    import cv2

    img = cv2.resize(load_image(sample_image), (2600, 2600), interpolation=cv2.INTER_CUBIC)
    rig = build_rig(img)
    assert rig.image.shape[:2] == (2600, 2600)
    base = load_rig(sample_image)
    # same face, scaled: landmarks agree within 1.5% of the face width
    err = np.abs(rig.landmarks[:, :2] / (2600 / 512) - base.landmarks[:, :2]).mean()
    assert err < 0.015 * base.box.width


def test_painting_and_cartoon_are_faces():
    for name in ("lp_s5.jpg", "lp_s7.jpg"):
        assert load_rig(shared("portraits", name)).n_faces >= 1
