"""Surprise-related details: a lifted lid leaves the eyeball where it is, the
hidden part of the iris is filled from its visible rings, and rounded lips
cover the painted teeth."""

from __future__ import annotations

import numpy as np
import pytest

from core.face import landmarks as L
from core.face.rig import load_rig
from core.units import UNIT_NAMES
from core.render.eyes import _complete_iris
from core.render.mesh import MeshRenderer
from core.render.mouth import LOWER_INNER, UPPER_INNER, _lip_curve


@pytest.fixture(scope="module")
def renderer(sample_image):
    r = MeshRenderer(size=512)
    r.prepare(load_rig(sample_image))
    return r


def _weights(**units: float) -> np.ndarray:
    w = np.zeros(len(UNIT_NAMES), np.float32)
    for k, v in units.items():
        w[UNIT_NAMES.index(k)] = v
    return w


def test_lifted_upper_lid_leaves_the_iris_in_place(renderer):
    still, zero = np.zeros(6, np.float32), np.zeros(2, np.float32)
    rest = renderer.moved_landmarks(_weights(), still, zero)
    wide = renderer.moved_landmarks(_weights(upper_lid_raise=1.0), still, zero)
    assert np.abs(wide[L.RIGHT_IRIS + L.LEFT_IRIS, :2] - rest[L.RIGHT_IRIS + L.LEFT_IRIS, :2]).max() < 1e-4
    assert wide[159, 1] < rest[159, 1] - 1.0          # while the lid itself goes up


def test_hidden_iris_is_filled_from_its_visible_rings_not_the_lid():
    s, c, r = 41, np.array([20.0, 20.0]), 12.0
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    rad = np.hypot(xx - c[0], yy - c[1])
    disc = np.clip(r + 0.5 - rad, 0, 1)
    patch = np.zeros((s, s, 3), np.float32)
    patch[:] = (60, 110, 150)                         # blue iris ...
    patch[rad < 4] = (10, 10, 10)                     # ... with a pupil
    opening = (yy > 14).astype(np.float32)            # the upper lid hides the top
    patch[yy <= 14] = (200, 160, 140)                 # lid skin where it is hidden
    out, seen = _complete_iris(patch, disc, opening, c)
    top = (yy < 14) & (rad < 9) & (rad > 4.5)       # iris rings (the outer rim is darker)
    assert np.all(seen == 1)
    assert np.abs(out[top] - np.array([60, 110, 150]) * 0.88).max() < 12
    assert np.allclose(out[yy > 16], patch[yy > 16])  # what was seen stays as it was


def _bright_in_lower_third(r: MeshRenderer, w: np.ndarray) -> float:
    still, zero = np.zeros(6, np.float32), np.zeros(2, np.float32)
    rgb = r.render_crop(w, still, zero).astype(np.float32)
    pts = r.moved_landmarks(w, still, zero)
    xs = np.linspace(pts[78, 0] + 4, pts[308, 0] - 4, 30)
    top = _lip_curve(pts, UPPER_INNER, xs)
    bot = _lip_curve(pts, LOWER_INNER, xs)
    rows = bot[None, :] - (bot - top)[None, :] * np.linspace(0.08, 0.3, 5)[:, None]
    px = rgb[np.round(rows).astype(int), np.round(xs).astype(int)[None, :]]
    # teeth: bright and nearly white (the resting tongue behind them is bright but red)
    return float(((px.mean(-1) > 120) & (px[..., 0] - px[..., 2] < 45)).mean())


def test_rounded_lips_cover_the_lower_teeth(renderer):
    wide = _bright_in_lower_third(renderer, _weights(jaw_open=1.0))
    rounded = _bright_in_lower_third(renderer, _weights(jaw_open=1.0, lip_round=1.0))
    assert wide > 0.15 and rounded < 0.5 * wide, (wide, rounded)
