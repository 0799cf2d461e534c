"""Every unit and pose checked by independent measurement on the rendered output.

Landmarks come from mediapipe run afresh on the output; identity from the
dlib face-recognition embedding (face_recognition_models), neither of which
the renderer uses to draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserInputError
from core.face.landmarks import eye_aspect_ratio, eye_aspect_ratios
from core.face.rig import build_rig, detect_landmarks, load_rig
from core.units import UNIT_NAMES
from core.render.mesh import MeshRenderer
from tests.conftest import shared


@pytest.fixture(scope="module")
def renderer(sample_image):
    r = MeshRenderer(size=512)
    r.prepare(load_rig(sample_image))
    return r


def crop(r: MeshRenderer, units: dict[str, float] | None = None, head=(0, 0, 0, 0, 0, 0), gaze=(0, 0)) -> np.ndarray:
    w = np.zeros(len(UNIT_NAMES), np.float32)
    for k, v in (units or {}).items():
        w[UNIT_NAMES.index(k)] = v
    return r.render_crop(w, np.asarray(head, np.float32), np.asarray(gaze, np.float32))


def marks(img: np.ndarray) -> np.ndarray:
    faces = detect_landmarks(img)
    assert faces, "mediapipe finds no face in the rendered frame"
    return faces[0]


# -- identity ------------------------------------------------------------------
@pytest.fixture(scope="module")
def face_distance():
    """dlib's ResNet embedding distance (core.face.identity). dlib is a hard dependency (pyproject):
    imported directly, so a missing or broken dlib fails this test instead of skipping it."""
    import dlib  # noqa: F401

    from core.face.identity import identity_distance

    return identity_distance


POSES = [("yaw", (20, 0, 0, 0, 0, 0)), ("yaw-", (-20, 0, 0, 0, 0, 0)), ("pitch", (0, 15, 0, 0, 0, 0)),
         ("pitch-", (0, -15, 0, 0, 0, 0)), ("roll", (0, 0, 10, 0, 0, 0)), ("roll-", (0, 0, -10, 0, 0, 0))]


def test_identity_kept_for_every_unit_and_pose(renderer, face_distance):
    rest = crop(renderer)
    worst = {}
    for name in UNIT_NAMES:
        worst[name] = face_distance(rest, crop(renderer, {name: 1.0}))
    for label, head in POSES:
        worst[label] = face_distance(rest, crop(renderer, head=head))
    # Closed eyes move dlib's embedding more than any other change (measured
    # 0.387 on this portrait, 0.309 on lp_s1): the eyes are its strongest
    # cue. A full blink is held to 0.42; a whole learned expression (expr_*,
    # the actors' full-strength face with its skin folds) to the expression
    # bar of 0.45; every single unit and pose to 0.35.
    assert worst.pop("eye_blink") < 0.42
    whole = {k: round(worst.pop(k), 3) for k in list(worst) if k.startswith("expr_")}
    assert all(v < 0.45 for v in whole.values()), str(whole)
    bad = {k: round(v, 3) for k, v in worst.items() if v >= 0.35}
    assert not bad, bad


# -- round trips ---------------------------------------------------------------
def test_lip_corner_pull_raises_and_widens_the_corners(renderer):
    rest, smile = marks(crop(renderer)), marks(crop(renderer, {"lip_corner_pull": 1.0}))
    width = lambda p: np.linalg.norm(p[61, :2] - p[291, :2])  # noqa: E731
    height = lambda p: (p[61, 1] + p[291, 1]) / 2 - (p[13, 1] + p[14, 1]) / 2  # corners above mouth centre: negative  # noqa: E731
    assert width(smile) > width(rest) * 1.04
    assert height(smile) < height(rest) - 2


def test_blink_closes_below_half_and_gaze_moves_the_irises(renderer):
    rest = marks(crop(renderer))
    assert eye_aspect_ratio(marks(crop(renderer, {"eye_blink": 1.0}))) < 0.5 * eye_aspect_ratio(rest)
    left, right = marks(crop(renderer, gaze=(-1, 0))), marks(crop(renderer, gaze=(1, 0)))
    assert right[468, 0] > left[468, 0] + 2 and right[473, 0] > left[473, 0] + 2


def test_a_wink_closes_one_eye_and_a_wink_on_a_blink_does_not_close_it_twice(renderer):
    rest_r, rest_l = eye_aspect_ratios(marks(crop(renderer)))
    r, l_ = eye_aspect_ratios(marks(crop(renderer, {"wink_left": 1.0})))
    assert l_ < 0.5 * rest_l and r > 0.85 * rest_r, (rest_r, rest_l, r, l_)
    r, l_ = eye_aspect_ratios(marks(crop(renderer, {"wink_right": 1.0})))
    assert r < 0.5 * rest_r and l_ > 0.85 * rest_l, (rest_r, rest_l, r, l_)
    # blink + wink on the same eye is one closed eye, not an eye pushed past shut
    both = crop(renderer, {"eye_blink": 1.0, "wink_left": 1.0})
    assert np.abs(both.astype(int) - crop(renderer, {"eye_blink": 1.0}).astype(int)).max() <= 1


@pytest.mark.parametrize("yaw", [-20.0, 20.0])
def test_yaw_moves_the_nose_towards_the_turned_side(renderer, yaw):
    rest, turned = marks(crop(renderer)), marks(crop(renderer, head=(yaw, 0, 0, 0, 0, 0)))
    assert np.sign(turned[1, 0] - rest[1, 0]) == np.sign(yaw)
    assert abs(turned[1, 0] - rest[1, 0]) > 6


def test_every_unit_moves_its_own_region(renderer):
    """Each unit changes the picture where it should, and not at the crop border."""
    rest = crop(renderer).astype(np.int16)
    for name in UNIT_NAMES:
        out = crop(renderer, {name: 1.0}).astype(np.int16)
        diff = np.abs(out - rest).max(-1)
        assert diff.max() > 40, f"{name} barely changes the image"
        assert diff[:8].max() == 0 and diff[-8:].max() == 0, f"{name} moves the crop border"


# -- head pose: background far from the head still, no seam -------------------
def test_background_far_from_the_head_stays_still(renderer):
    """Beyond the follow weight's reach the background is the portrait's, bit for bit.

    The contract changed with issue 21: the background *beside* the head now
    moves with it (the follow weight decays with the distance from head and
    hair, to 0 at layers.FOLLOW_REACH face widths), so nothing is uncovered
    and nothing needs filling; where the weight is 0 (beyond the reach, and
    within 3 % of the crop border) nothing moves at all. On the sample crop,
    where the head fills most of the square, that still part is a fifth of
    the background (measured 0.19); at yaw 20 about 27 % of the background
    changes by more than 2 levels (0.5 % with the still, inpainted plate).
    """
    import cv2

    n = renderer.n
    rest = crop(renderer).astype(np.int16)
    cell = 2 * n // renderer.grid + 1
    still = cv2.resize(renderer.pose.follow, (n, n), interpolation=cv2.INTER_LINEAR) <= 0
    still = cv2.erode(still.astype(np.uint8), np.ones((cell, cell), np.uint8)) > 0
    background = renderer.mask < 0.05
    assert (still & background).sum() > 0.15 * background.sum()
    for _, head in POSES:
        out = crop(renderer, head=head).astype(np.int16)
        assert np.abs(out - rest).max(-1)[still].max() == 0, head


def test_composite_has_no_seam(renderer):
    """Outside the crop the frame is the portrait; inside the feather band nothing jumps."""
    from core.tracks import MotionTrack

    track = MotionTrack.rest(1, 25)
    track.head[0] = (15, 8, 6, 0, 0, 0)
    track.weights[0, UNIT_NAMES.index("jaw_open")] = 0.7
    frame = next(iter(renderer.frames(track))).astype(np.int16)
    base = renderer.base.astype(np.int16)
    x0, y0, x1, y1 = renderer.dst_box
    outside = np.ones(base.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.abs(frame - base)[outside].max(initial=0) == 0
    band = max(2, renderer.band // 2)  # outer half of the feather band: the portrait itself
    ring = np.zeros_like(outside)
    ring[y0:y1, x0:x1] = True
    ring[y0 + band:y1 - band, x0 + band:x1 - band] = False
    assert np.abs(frame - base)[ring].max(initial=0) <= 4  # crop resampling only


def test_rest_is_exact_and_no_flicker(renderer):
    a = crop(renderer)
    assert np.array_equal(a, renderer.src)
    frames = [crop(renderer, {"jaw_open": 0.3, "eye_blink": 0.7}, head=(5, 2, 1, 0, 0, 0)) for _ in range(3)]
    assert all(np.array_equal(frames[0], f) for f in frames[1:])


# -- resolution and bad portraits ---------------------------------------------
def test_huge_portrait_renders_at_full_size(sample_image):
    import cv2

    from core.io.image import load_image

    img = cv2.resize(load_image(sample_image), (4000, 4000), interpolation=cv2.INTER_CUBIC)
    r = MeshRenderer(size=512)
    r.prepare(build_rig(img))
    assert r.frame_size == (4000, 4000)
    frame = r.composite(crop(r, {"jaw_open": 1.0}))
    assert frame.shape == (4000, 4000, 3)
    # only the face crop changed
    x0, y0, x1, y1 = r.dst_box
    assert np.array_equal(frame[:y0], img[:y0]) and (frame[y0:y1, x0:x1] != img[y0:y1, x0:x1]).any()


def _try_render(img: np.ndarray) -> np.ndarray | None:
    try:
        rig = build_rig(img)
    except UserInputError as e:
        assert e.fix, "a rejection must say what to do"
        return None
    r = MeshRenderer(size=256)
    r.prepare(rig)
    out = r.composite(crop(r, {"jaw_open": 0.8, "eye_blink": 1.0}, head=(15, 5, 5, 0, 0, 0)))
    assert out.shape[:2] == (r.frame_size[1], r.frame_size[0]) and out.dtype == np.uint8
    return out


@pytest.mark.parametrize("name", ["lp_s5.jpg", "lp_s7.jpg", "lp_s2.jpg", "st_sad.png"])
def test_painting_cartoon_bw_small_render(name):
    from core.io.image import load_image

    out = _try_render(load_image(shared("portraits", name)))
    assert out is not None, f"{name} should render"


def test_cut_off_rotated_tiny_portraits_render_or_stop_clearly(sample_image):
    import cv2

    from core.io.image import load_image

    img = load_image(sample_image)
    cases = {
        "cut_off": img[:, 150:],                              # face at the left border
        "near_top": img[120:, :],                             # forehead cut
        "rotated": cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE),
        "tilted": cv2.warpAffine(img, cv2.getRotationMatrix2D((256, 256), 35, 1.0), (512, 512),
                                 borderMode=cv2.BORDER_REFLECT),
        "tiny": cv2.resize(img, (70, 70), interpolation=cv2.INTER_AREA),
        "no_face": np.full((300, 300, 3), 128, np.uint8),
    }
    results = {k: _try_render(np.ascontiguousarray(v)) for k, v in cases.items()}
    assert results["no_face"] is None
    assert results["cut_off"] is not None and results["near_top"] is not None
