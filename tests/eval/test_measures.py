"""Motion and image yardsticks on synthetic landmarks and images with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from core.eval.image import PSNR_CAP, psnr, ssim
from core.eval.motion import FrozenCounter, count_blinks, head_angles, jitter
from tests.conftest import SAMPLE


def _rot(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rz @ ry @ rx


@pytest.fixture(scope="module")
def face_points() -> np.ndarray:
    from core.face.rig import load_rig

    return load_rig(SAMPLE / "portrait.png").landmarks.astype(np.float64)


def test_head_angles_recover_known_3d_rotations(face_points):
    c = face_points.mean(axis=0)
    poses = [(0, 0, 0), (12, 0, 0), (-8, 5, 0), (0, -10, 3), (5, 5, -7)]
    seq = np.stack([(face_points - c) @ _rot(*p).T * (1 + 0.1 * k) + c + 7 * k
                    for k, p in enumerate(poses)]).astype(np.float32)
    got = head_angles(seq)
    rel = got - got[0]
    assert rel == pytest.approx(np.array(poses, float), abs=0.3)
    assert np.isnan(head_angles(np.full((2, 478, 3), np.nan))).all()


def test_blinks_are_counted_against_the_videos_own_open_level():
    ear = np.full(100, 0.22)                         # narrow eyes: open level 0.22, not 0.3
    ear[[10, 11, 12, 50, 51, 80]] = 0.05
    ear[30] = 0.18                                   # a squint is not a blink
    assert count_blinks(ear) == 3
    assert count_blinks(np.full(50, 0.3)) == 0


def test_jitter_ignores_smooth_motion_and_sees_tremble():
    t = np.arange(80)[:, None, None]
    pts = np.zeros((80, 478, 3))
    pts[:, 33, 0], pts[:, 263, 0] = 0.0, 100.0
    smooth = pts + 30 * np.sin(2 * np.pi * t / 80)  # a slow sway of the whole face
    assert jitter(smooth) < 0.01
    shaky = smooth.copy()
    shaky[:, :, :2] += np.where(t % 2, 1.0, -1.0)   # +-1 px every frame = 2.8 px steps
    assert jitter(shaky) == pytest.approx(2 * np.sqrt(2) / 100, rel=0.35)
    assert jitter(np.zeros((80, 478, 3))) == 0.0


def test_frozen_counter_sees_repeated_frames_only():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + 8, 0, 255).astype(np.uint8)
    fc = FrozenCounter()
    for f in [a, a, b, b, b, a]:
        fc.add(f)
    assert fc.pairs == 5 and fc.frozen == 3


def test_psnr_and_ssim_known_answers():
    rng = np.random.default_rng(1)
    x = rng.integers(20, 200, (48, 64, 3), dtype=np.uint8)
    assert psnr(x, x) == PSNR_CAP and ssim(x, x) == pytest.approx(1.0)
    assert psnr(x, x + 10) == pytest.approx(20 * np.log10(255 / 10), abs=1e-9)
    # constant images: variances vanish and SSIM reduces to the luminance term
    a, b = np.full((40, 40), 100, np.uint8), np.full((40, 40), 140, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 140 + c1) / (100 ** 2 + 140 ** 2 + c1), rel=1e-9)
    noisy = np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    assert 0.2 < ssim(x, noisy) < 0.9
    assert ssim(x, noisy) > ssim(x, 255 - x)
