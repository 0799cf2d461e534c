"""The mesh renderer moves the face as asked, measured by independent landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from core.face.landmarks import eye_aspect_ratio, mouth_opening
from core.face.rig import detect_landmarks, load_rig
from core.units import UNIT_NAMES
from core.render.mesh import MeshRenderer
from core.tracks import MotionTrack


@pytest.fixture(scope="module")
def renderer(sample_image):
    r = MeshRenderer(size=512)
    r.prepare(load_rig(sample_image))
    return r


def _frame(r: MeshRenderer, **units: float) -> np.ndarray:
    m = MotionTrack.rest(1, 25)
    for k, v in units.items():
        if k in UNIT_NAMES:
            m.unit(k)[0] = v
    if "yaw" in units:
        m.head[0, 0] = units["yaw"]
    return next(iter(r.frames(m)))


def test_rest_frame_is_the_portrait(renderer):
    out = _frame(renderer)
    diff = np.abs(out.astype(float) - renderer.base.astype(float))
    psnr = 10 * np.log10(255 ** 2 / max(np.mean(diff ** 2), 1e-9))
    assert psnr > 32, psnr


def test_same_motion_same_frame(renderer):
    a = _frame(renderer, jaw_open=0.6, eye_blink=0.3)
    b = _frame(renderer, jaw_open=0.6, eye_blink=0.3)
    assert np.array_equal(a, b)


def test_jaw_open_raises_inner_lip_gap(renderer):
    rest = detect_landmarks(_frame(renderer))[0]
    open_ = detect_landmarks(_frame(renderer, jaw_open=1.0))[0]
    assert mouth_opening(open_) > mouth_opening(rest) + 0.08


def test_blink_closes_the_eyes(renderer):
    rest = detect_landmarks(_frame(renderer))[0]
    shut = detect_landmarks(_frame(renderer, eye_blink=1.0))[0]
    # the target: a full blink drops the eye aspect ratio below half
    assert eye_aspect_ratio(shut) < 0.5 * eye_aspect_ratio(rest)


def test_yaw_moves_the_nose_towards_the_turn(renderer):
    rest = detect_landmarks(_frame(renderer))[0]
    turned = detect_landmarks(_frame(renderer, yaw=10.0))[0]
    assert turned[1, 0] > rest[1, 0] + 3
