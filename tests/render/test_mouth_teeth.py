"""A portrait's own teeth stay with the upper jaw when the mouth opens wider.

The sample portrait grins with its upper teeth filling the whole opening.
Opening the jaw must show those teeth under the upper lip and a dark cavity
below them, also with the head turned (the lips then shift sideways), not a
band of teeth riding down with the lower lip across the cavity.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.face.rig import load_rig
from core.units import UNIT_NAMES
from core.render.mesh import MeshRenderer
from core.render.mouth import LOWER_INNER as LO
from core.render.mouth import UPPER_INNER as UP
from core.render.mouth import _bite_fraction, _lip_curve


@pytest.fixture(scope="module")
def renderer(sample_image):
    r = MeshRenderer(size=512)
    r.prepare(load_rig(sample_image))
    return r


def _opening_profile(r: MeshRenderer, head: tuple[float, ...], jaw: float = 0.8) -> np.ndarray:
    """RGB from the upper lip (row 0) to the lower lip (row 9), middle columns averaged."""
    w = np.zeros(len(UNIT_NAMES), np.float32)
    w[UNIT_NAMES.index("jaw_open")] = jaw
    h = np.asarray(head, np.float32)
    img = r.render_crop(w, h, np.zeros(2, np.float32)).astype(np.float32)
    pts = r.moved_landmarks(w, h, np.zeros(2, np.float32))
    cx, half = (pts[78, 0] + pts[308, 0]) / 2, abs(pts[308, 0] - pts[78, 0]) / 2
    xs = np.linspace(cx - 0.4 * half, cx + 0.4 * half, 15)
    top, bot = _lip_curve(pts, UP, xs), _lip_curve(pts, LO, xs)
    fr = np.linspace(0.05, 0.95, 10)
    rows = top[None, :] + (bot - top)[None, :] * fr[:, None]
    return img[np.round(rows).astype(int), np.round(xs).astype(int)[None, :]].mean(1)


@pytest.mark.parametrize("head", [(0, 0, 0, 0, 0, 0), (-12, -2, 2, 0, 0, 0)], ids=["frontal", "turned"])
def test_grin_keeps_upper_teeth_under_the_lip_and_opens_a_dark_cavity(renderer, head):
    rgb = _opening_profile(renderer, head)
    prof = rgb.mean(-1)
    assert prof[0] > 150, prof                     # the portrait's teeth under the upper lip
    # the middle of the opening is cavity or the resting tongue behind the lower
    # teeth (dark, or clearly red), never a band of teeth riding across it
    middle = rgb[4:7]
    red = middle[:, 0] - middle[:, 2]
    assert ((middle.mean(-1) < 70) | ((red > 25) & (middle.mean(-1) < 140))).all(), middle


def test_bite_line_is_found_only_between_two_bright_rows():
    pts = np.zeros((478, 2), np.float32)
    xs = np.linspace(10, 70, 24)
    for i, k in enumerate(UP):
        pts[k] = (10 + 60 * i / (len(UP) - 1), 10)
    for i, k in enumerate(LO):
        pts[k] = (10 + 60 * i / (len(LO) - 1), 50)
    teeth = np.full((60, 80, 3), 210, np.uint8)
    teeth[:, ::9] = 160                            # gaps between single teeth
    assert _bite_fraction(teeth, pts, xs) == 1.0   # one bright row of teeth: all upper
    both = teeth.copy()
    both[36:39] = 30                               # the dark line where upper and lower rows meet
    assert abs(10 + 40 * _bite_fraction(both, pts, xs) - 37.5) <= 2.5


def test_a_closed_mouth_portrait_opened_shows_both_rows_of_teeth():
    """Speech parts the lips more than the teeth: an open mouth shows upper and lower teeth
    with the dark cavity between (real KatieHill frames), not a black hole with a sliver of teeth."""
    from tests.conftest import shared

    r = MeshRenderer(size=512)
    r.prepare(load_rig(shared("portraits", "lp_s1.jpg")))   # closed lips, no teeth showing
    rgb = _opening_profile(r, (0, 0, 0, 0, 0, 0), jaw=0.8)
    prof = rgb.mean(-1)
    # measured: upper crowns down to row 2 (row 3 before the jaw's top was widened, 29 before the crowns
    # were sized from footage), lower crowns rows 8-9
    assert prof[1:3].min() > 140, prof
    assert prof[8:10].min() > 75, prof
    # between the rows: dark cavity, or the resting tongue (red, as in KatieHill's open frames)
    middle = rgb[4:7]
    assert ((middle.mean(-1) < 70) | ((middle[:, 0] - middle[:, 2] > 25) & (middle.mean(-1) < 140))).all(), middle
    assert (middle[:, 0] - middle[:, 2] > 25).any(), middle   # the tongue shows


def test_a_black_and_white_portrait_gets_a_grey_mouth():
    """Ivory teeth and a pink tongue in a black-and-white photo would be its only colour."""
    from tests.conftest import shared

    r = MeshRenderer(size=512)
    r.prepare(load_rig(shared("portraits", "lp_s2.jpg")))   # black and white, lips closed
    assert r.look.grey
    rgb = _opening_profile(r, (0, 0, 0, 0, 0, 0), jaw=0.8)
    assert np.ptp(rgb, axis=1).max() < 4, rgb
    assert rgb.mean(-1).max() > 150                          # the teeth are still painted
