"""Mouth-opening spread, still frame pairs and head speed on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from core.eval.lipsync import opening_spread
from core.eval.motion import head_speed, still_fraction


def test_opening_spread_is_the_5_95_percentile_range_and_ignores_odd_frames():
    x = np.linspace(0.0, 0.2, 101)            # 5th percentile 0.01, 95th 0.19
    assert opening_spread(x) == pytest.approx(0.18, abs=1e-9)
    y = x.copy()
    y[[3, 50]] = [2.0, np.nan]                # one tracker glitch, one frame without a face
    assert opening_spread(y) == pytest.approx(0.18, abs=0.01)
    assert np.isnan(opening_spread(np.array([0.1, np.nan])))


def _faces(steps: np.ndarray) -> np.ndarray:
    """A face (478 points, eye corners 100 px apart) translated by ``steps`` px per frame."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 200, (478, 3))
    base[33, :2], base[263, :2] = (50, 100), (150, 100)
    pos = np.concatenate([[0.0], np.cumsum(steps)])
    return np.stack([base + [p, 0, 0] for p in pos]).astype(np.float32)


def test_still_fraction_counts_pairs_that_move_less_than_0_2_percent_of_the_eye_distance():
    steps = np.array([0.1] * 10 + [0.5] * 30)  # 0.1 % then 0.5 % of 100 px per frame
    assert still_fraction(_faces(steps)) == pytest.approx(10 / 40)
    pts = _faces(steps)
    pts[5] = np.nan                             # no face: both pairs around it are left out
    assert still_fraction(pts) == pytest.approx(8 / 38)
    assert still_fraction(_faces(np.full(20, 1.0))) == 0.0


def test_head_speed_is_degrees_per_second_of_the_smoothed_angles():
    fps = 25.0
    t = np.arange(250) / fps
    rng = np.random.default_rng(1)
    yaw = 10 * np.sin(2 * np.pi * 0.5 * t)      # mean |d/dt| = 4 * 10 * 0.5 = 20 deg/s
    ang = np.stack([yaw + rng.normal(0, 0.3, t.size), np.zeros_like(t), np.full_like(t, np.nan)], 1)
    ys, ps, rs = head_speed(ang, fps)
    assert ys == pytest.approx(20.0, rel=0.1)
    assert ps == 0.0 and np.isnan(rs)
    # a still head with tracker tremble reads as slow after smoothing
    still = np.stack([rng.normal(0, 0.3, t.size)] * 3, 1)
    assert max(head_speed(still, fps)) < 2.0
