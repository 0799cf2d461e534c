"""Lip-sync yardsticks on curves with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from core.eval.lipsync import (bilabial_closure, best_lag_corr, lagged_corr, loudness_envelope,
                               mouth_opening, pearson)
from core.tracks import Alignment, Phone


def test_best_lag_corr_recovers_a_known_lag_in_both_directions():
    rng = np.random.default_rng(3)
    base = np.convolve(rng.standard_normal(300), np.ones(4) / 4, mode="same")
    late = np.r_[np.zeros(2), base[:-2]]           # late[t] = base[t - 2]: "late" is 2 frames late
    r, lag = best_lag_corr(late, base, max_lag=3)
    assert lag == 2 and r > 0.999
    r, lag = best_lag_corr(base, late, max_lag=3)
    assert lag == -2 and r > 0.999
    r, lag = best_lag_corr(base, base, max_lag=2)
    assert lag == 0 and r == pytest.approx(1.0)


def test_best_lag_corr_stays_inside_the_window_and_ignores_nans():
    rng = np.random.default_rng(4)
    base = rng.standard_normal(200)
    late = np.r_[np.zeros(5), base[:-5]]
    r, lag = best_lag_corr(late, base, max_lag=2)
    assert abs(lag) <= 2 and r < 0.3                # the true lag (5) is outside the window
    holey = base.copy()
    holey[::7] = np.nan
    r, lag = best_lag_corr(holey, base)
    assert lag == 0 and r == pytest.approx(1.0)
    assert np.isnan(pearson(np.ones(10), base[:10]))  # no variance: undefined, not 0
    r, lag = best_lag_corr(np.full(5, np.nan), base[:5])
    assert np.isnan(r) and lag == 0
    assert np.isnan(lagged_corr(base[:3], base[:3], 5))


def test_mouth_opening_is_the_inner_lip_gap_over_eye_corner_distance():
    pts = np.zeros((2, 478, 3), np.float32)
    pts[:, 33, 0], pts[:, 263, 0] = 100, 200         # eye corners 100 px apart
    pts[:, 13, 1], pts[:, 14, 1] = 300, 325          # lips 25 px apart
    pts[1] = np.nan                                  # no face in frame 2
    m = mouth_opening(pts)
    assert m[0] == pytest.approx(0.25) and np.isnan(m[1])


def test_loudness_envelope_is_the_rms_of_each_frame_span():
    sr, fps = 16000, 25.0
    t = np.arange(sr) / sr
    amp = np.where(t < 0.5, 0.2, 0.6)
    env = loudness_envelope(amp * np.sin(2 * np.pi * 200 * t), sr, fps, 25)
    assert env[:12] == pytest.approx(0.2 / np.sqrt(2), rel=0.02)
    assert env[13:] == pytest.approx(0.6 / np.sqrt(2), rel=0.02)


def test_bilabial_closure_counts_closed_pbm_phones_only():
    fps = 25.0
    opening = np.full(100, 0.3)
    opening[10:13] = 0.01                            # closed during the first P
    opening[50:53] = 0.2                             # barely moves during the M: not closed
    phones = [Phone("P", 10 / fps, 13 / fps), Phone("AA", 13 / fps, 20 / fps),
              Phone("M", 50 / fps, 53 / fps), Phone("B", 80 / fps, 82 / fps), Phone("SIL", 0, 0.3)]
    opening[80:82] = 0.0
    rate, n = bilabial_closure(opening, Alignment(phones=phones), fps)
    assert n == 3 and rate == pytest.approx(2 / 3)
    assert bilabial_closure(opening, None, fps) == (None, None)
    assert bilabial_closure(opening, Alignment(phones=[Phone("AA", 0, 1)]), fps) == (None, 0)
