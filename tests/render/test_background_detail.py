"""Issue 21: no smudged halo beside the head, no softened face (measured on the output).

Mean |Laplacian| of the composited frame over the portrait's, at the output's
full resolution, in the background ring beside the head and inside the head
(regions from selfie segmentation of each image, as in bench/detail.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.detail import lap_abs, regions
from core.face import landmarks as L
from core.face.rig import build_rig, load_rig
from core.io.image import load_image
from core.units import UNIT_NAMES
from core.render.mesh import MeshRenderer
from tests.conftest import shared


def _weights(**units: float) -> np.ndarray:
    w = np.zeros(len(UNIT_NAMES), np.float32)
    for k, v in units.items():
        w[UNIT_NAMES.index(k)] = v
    return w


def _ratios(r: MeshRenderer, img: np.ndarray, rig, w: np.ndarray, head) -> tuple[float, float, float]:
    """(ring, inside, ring on the portrait's own ring) for one frame."""
    head = np.asarray(head, np.float32)
    gaze = np.zeros(2, np.float32)
    frame = r.composite(r.render_crop(w, head, gaze))
    pts = rig.landmarks
    fw = float(np.ptp(pts[L.FACE_OVAL, 0]))
    ring0, inside0 = regions(img, pts[L.CHIN, 1], pts[1, :2], fw)
    mv = r.moved_landmarks(w, head, gaze) * (r.side / r.n)
    mv[:, 0] += r.x0
    mv[:, 1] += r.y0
    ring, inside = regions(frame, mv[L.CHIN, 1], mv[1], fw)
    a, b = lap_abs(img), lap_abs(frame)
    return (float(b[ring].mean() / a[ring0].mean()), float(b[inside].mean() / a[inside0].mean()),
            float(b[ring0].mean() / a[ring0].mean()))


@pytest.fixture(scope="module")
def grainy():
    """lp_s2: a 2048-px black-and-white photo, film grain on the wall, curly hair strands."""
    img = load_image(shared("portraits", "lp_s2.jpg"))
    rig = build_rig(img)
    r = MeshRenderer(size=512)
    r.prepare(rig)
    return r, img[: r.out_h, : r.out_w], rig


def test_rest_frame_is_the_portrait_itself(grainy, sample_image):
    """Nothing moved, nothing painted: the whole output frame is the portrait, bit for bit."""
    r, img, _ = grainy
    still = np.zeros(6, np.float32)
    assert np.array_equal(r.composite(r.render_crop(_weights(), still, np.zeros(2, np.float32))), img)
    s = MeshRenderer(size=512)
    s.prepare(load_rig(sample_image))
    assert np.array_equal(s.composite(s.render_crop(_weights(), still, np.zeros(2, np.float32))), s.base)


def test_no_halo_for_a_tiny_first_frame_motion(grainy):
    """The pipeline's frame 0 turns the head by a fraction of a degree: the background stays whole.

    Measured 0.99 (ring) and 0.97 (inside); with the inpainted plate and the
    work-size face this frame measured about 0.30 and 0.14 on lp_s2 (the
    plate's blur laid over every background pixel the field moved at all).
    """
    r, img, rig = grainy
    ring, inside, fixed = _ratios(r, img, rig, _weights(), (0.2, 0.1, 0.04, 0, 0, 0))
    assert fixed >= 0.97 and inside >= 0.95, (ring, inside, fixed)


@pytest.mark.parametrize("head", [(20, -2, -2, 0.01, 0, 0), (-20, 6, 5, 0, 0, 0), (-3, 14, 4, 0, 0.03, 0)])
def test_large_head_motion_keeps_ring_and_face_detail(grainy, head):
    """``--head-motion 2`` extremes with the mouth open: ring >= 0.9, inside >= 0.85 (issue 21 targets).

    Before: ring 0.29-0.30 and inside 0.14 on this portrait (work-size face,
    blurred plate beside the hair).
    """
    r, img, rig = grainy
    ring, inside, _ = _ratios(r, img, rig, _weights(jaw_open=0.5, eye_blink=0.3), head)
    assert ring >= 0.9 and inside >= 0.85, (ring, inside)


def test_a_crop_not_from_render_crop_is_scaled_and_pasted(grainy):
    """A crop the renderer did not just make (the diffusion renderer's) has no field to
    carry the portrait's detail through: it is scaled and pasted with the feather band."""
    r, img, _ = grainy
    crop = r.render_crop(_weights(jaw_open=0.6), np.float32([10, 0, 0, 0, 0, 0]), np.zeros(2, np.float32))
    frame = r.composite(crop.copy())
    x0, y0, x1, y1 = r.dst_box
    outside = np.ones(img.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(frame[outside], img[outside])
    detailed = r.composite(crop)
    assert not np.array_equal(frame, detailed)
    # the pasted work-size crop is the softer one
    assert lap_abs(detailed)[y0:y1, x0:x1].mean() > 1.5 * lap_abs(frame)[y0:y1, x0:x1].mean()
