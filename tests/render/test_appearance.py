"""The expression appearance layer: shipped maps, texture space, shading a crop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.units import UNIT_NAMES
from core.render import appearance as A
from core.render.texture_space import TextureLayout, from_texture, to_texture


def test_shipped_maps_are_verified_finite_and_bounded():
    rm = A.load_ratio_maps()
    meta = json.loads(A.MANIFEST.read_text())
    from core.render.creases import DRIVERS

    assert set(rm.maps) == {f"expr_{e}" for e in rm.shapes} | set(DRIVERS)
    for name, m in ((n, m) for n, m in rm.maps.items() if n.startswith("expr_")):
        assert m.shape == (rm.side, rm.side) and np.isfinite(m).all()
        assert np.abs(m).max() <= meta["clip"] + 1e-3, name
        assert np.abs(m).max() > 0.05, f"{name} is empty"
    for emo, shape in rm.shapes.items():
        assert shape.shape == (478, 2) and np.isfinite(shape).all()
        # a real expression moves the face by a few % of the eye distance, never more than a third
        assert 0.003 < np.abs(shape).mean() < 0.05 and np.abs(shape).max() < 0.35, emo
        assert f"expr_{emo}" in UNIT_NAMES


def test_damaged_maps_are_refused(tmp_path, monkeypatch):
    from core.errors import UserInputError

    bad = tmp_path / "expression_ratios.npz"
    bad.write_bytes(A.RATIOS.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(A, "RATIOS", bad)
    A.load_ratio_maps.cache_clear()
    try:
        with pytest.raises(UserInputError, match="damaged"):
            A.load_ratio_maps()
    finally:
        A.load_ratio_maps.cache_clear()


def test_texture_round_trip_returns_the_face():
    rng = np.random.default_rng(0)
    rm = A.load_ratio_maps()
    layout = TextureLayout(rm.side, rm.points, rm.triangles)
    # a face: the canonical layout scaled and shifted, on a smooth random image
    pts = rm.points * 1.6 + [40, 25]
    img = (np.clip(rng.normal(128, 40, (48, 48, 3)), 0, 255)).astype(np.uint8)
    import cv2

    img = cv2.resize(img, (480, 480), interpolation=cv2.INTER_CUBIC)
    tex, cov = to_texture(img, pts, layout)
    back, cov2 = from_texture(tex, pts, layout, img.shape[:2])
    inner = cv2.erode(cov2.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    err = np.abs(back[inner].astype(int) - img[inner].astype(int)).mean()
    assert cov.mean() > 0.3 and inner.sum() > 50000 and err < 6, err


def _appearance(n: int = 256) -> tuple[A.ExpressionAppearance, np.ndarray]:
    rm = A.load_ratio_maps()
    pts = np.zeros((478, 3))
    pts[:468, :2] = rm.points * (n / rm.side)
    return A.ExpressionAppearance(pts, n), pts


def test_neutral_weights_leave_the_crop_untouched():
    app, _ = _appearance()
    n = app.size
    crop = np.full((n, n, 3), 150, np.uint8)
    lin = np.arange(n, dtype=np.float32)
    fx, fy = np.meshgrid(lin, lin)
    out = crop.copy()
    app.apply(out, fx, fy, np.zeros(len(UNIT_NAMES), np.float32), (0, 0, n, n))
    assert np.array_equal(out, crop)
    assert app.log_ratio(np.zeros(len(UNIT_NAMES))) is None


def test_a_learned_unit_shades_only_the_face_and_scales_with_its_weight():
    app, pts = _appearance()
    n = app.size
    lin = np.arange(n, dtype=np.float32)
    fx, fy = np.meshgrid(lin, lin)
    w = np.zeros(len(UNIT_NAMES), np.float32)
    diffs = []
    for k in (0.5, 1.0):
        w[UNIT_NAMES.index("expr_happy")] = k
        out = np.full((n, n, 3), 150, np.uint8)
        app.apply(out, fx, fy, w, (0, 0, n, n))
        diffs.append(np.abs(out.astype(int) - 150))
    # (the gain is warped at half resolution: allow its 4-px bilinear rim)
    lo, hi = pts[:468, :2].min(0).astype(int) - 4, pts[:468, :2].max(0).astype(int) + 4
    outside = np.ones((n, n), bool)
    outside[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1] = False
    assert diffs[1][outside].max() == 0
    assert diffs[1].max() >= 10 and diffs[1].mean() > 1.5 * diffs[0].mean()


def _glabella_box(pts: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns between the inner brow ends, from just above them to the nose root."""
    from core.render.creases import INNER_BROW_HIGH, INNER_BROW_LOW, NOSE_ROOT

    (xr, _), (xl, _) = pts[INNER_BROW_LOW[0], :2], pts[INNER_BROW_LOW[1], :2]
    gap = xl - xr
    top = int(min(pts[i, 1] for i in INNER_BROW_HIGH) - 0.12 * gap)
    bottom = int(pts[NOSE_ROOT, 1] + 0.05 * gap)
    return slice(top, bottom), slice(int(xr + 0.1 * gap), int(xl - 0.1 * gap))


def test_crease_maps_are_finite_bounded_and_where_the_face_folds():
    from core.render.creases import VALLEY

    rm = A.load_ratio_maps()
    rows, cols = _glabella_box(rm.points)
    glabella = rm.maps["crease_glabella"]
    assert np.isfinite(glabella).all() and np.abs(glabella).max() <= VALLEY + 1e-3
    inside = np.zeros_like(glabella, bool)
    inside[rows, cols] = True
    # the furrows' valleys lie between the inner brow ends, nowhere else
    assert glabella[inside].min() < -0.15 and glabella[~inside].min() > 0.5 * glabella[inside].min()
    forehead = rm.maps["crease_forehead_surprised"]
    brow_y = float(np.median(rm.points[[70, 63, 105, 66, 107, 300, 293, 334, 296, 336], 1]))
    ys = np.nonzero((forehead < -0.1).any(1))[0]
    assert len(ys) and ys.max() < brow_y and ys.min() > rm.points[10, 1] - 3


def test_a_frown_draws_furrows_but_undoing_a_photo_expression_does_not():
    app, pts = _appearance(512)
    n = app.size
    lin = np.arange(n, dtype=np.float32)
    fx, fy = np.meshgrid(lin, lin)
    rows, cols = _glabella_box(pts)
    k = app.names.index("crease_glabella")
    w = np.zeros(len(UNIT_NAMES), np.float32)
    means = {}
    for amount in (0.0, 0.35, 1.0):
        w[UNIT_NAMES.index("brow_lower")] = amount
        out = np.full((n, n, 3), 150, np.uint8)
        app.apply(out, fx, fy, w, (0, 0, n, n))
        means[amount] = float(out[rows, cols].mean())
        assert app.drivers(w)[k] == pytest.approx(max(0.0, (amount - 0.5) / 0.5))
    # a counter of 0.35 (a sad-looking photo made happy) leaves the skin as it was;
    # a full frown darkens the skin between the brows
    assert means[0.35] == means[0.0] == 150.0
    assert means[1.0] < 150.0 - 4
    # creases never brighten the skin as an undone expression does
    w[:] = 0
    w[UNIT_NAMES.index("expr_surprised")] = -1.0
    assert app.drivers(w)[app.names.index("crease_forehead_surprised")] == 0.0
