"""Issue 19: the mesh warp's field is the same as the straightforward per-triangle computation.

``MeshWarp.field`` was sped up (a cheaper fill loop, barycentric weights on
planar x/y arrays); the reference below is the code it replaced: every
moving triangle drawn with cv2.fillConvexPoly in index order, then each
covered cell's clamped barycentric weights on (n, 2) arrays. Compared bit
for bit on a face mesh moved by expressions, by noise that folds triangles
over, and on a mesh pushed partly off the grid.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.render.warp import MeshWarp


def _reference_field(w: MeshWarp, moved: np.ndarray) -> np.ndarray:
    moved = np.asarray(moved, np.float64)
    tri_dst = moved[w.simplices]
    e1, e2 = tri_dst[:, 1] - tri_dst[:, 0], tri_dst[:, 2] - tri_dst[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    moving = np.abs(tri_dst - w.rest[w.simplices]).max(axis=(1, 2)) > 0.05
    todo = np.flatnonzero(moving & (area > 1e-6))
    if len(todo) == 0:
        return w.identity.copy()
    out = w.query.copy()
    ids = np.full((w.grid, w.grid), -1, np.int32)
    pts = np.round((tri_dst * w.k - 0.5) * 16).astype(np.int32)
    for t in np.flatnonzero(moving & (area <= 1e-6)):
        cv2.fillConvexPoly(ids, pts[t], -2, lineType=cv2.LINE_8, shift=4)
    for t in todo:
        cv2.fillConvexPoly(ids, pts[t], int(t), lineType=cv2.LINE_8, shift=4)
    flat = ids.ravel()
    hit = np.flatnonzero(flat >= 0)
    t = flat[hit]
    a, b, c = tri_dst[t, 0], tri_dst[t, 1], tri_dst[t, 2]
    v0, v1, v2 = b - a, c - a, w.query[hit] - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    l0 = np.clip(1 - l1 - l2, 0, 1)
    l1, l2 = np.clip(l1, 0, 1), np.clip(l2, 0, 1)
    tot = np.maximum(l0 + l1 + l2, 1e-9)
    l1, l2 = l1 / tot, l2 / tot
    src = w.rest[w.simplices[t]]
    out[hit] = src[:, 0] * (1 - l1 - l2)[:, None] + src[:, 1] * l1[:, None] + src[:, 2] * l2[:, None]
    hole = ids == -2
    if hole.any():
        from scipy.ndimage import distance_transform_edt

        _, (iy, ix) = distance_transform_edt(ids < 0, return_indices=True)
        o = out.reshape(w.grid, w.grid, 2)
        o[hole] = o[iy[hole], ix[hole]]
    return out.reshape(w.grid, w.grid, 2).astype(np.float32)


@pytest.fixture(scope="module")
def renderer(sample_image):
    from core.face.rig import load_rig
    from core.render.mesh import MeshRenderer

    r = MeshRenderer(size=256)
    r.prepare(load_rig(sample_image))
    return r


def test_field_matches_the_reference(renderer):
    from core.render.contact_sheet import demo_motion
    from core.render.mesh import N_MESH

    r, m = renderer, demo_motion(12)
    rng = np.random.default_rng(7)
    folded = 0
    for i in range(m.n_frames):
        p = r._expressed(m.weights[i])[:N_MESH, :2]
        for noise in (0.0, 2.0, 8.0):          # 8 px of noise folds triangles over
            moved = np.concatenate([p + rng.normal(0, noise, p.shape) * (noise > 0), r.anchor_pts])
            got, want = r.warp.field(moved), _reference_field(r.warp, moved)
            assert got.dtype == want.dtype and np.array_equal(got, want), (i, noise)
            tri = moved[r.warp.simplices]
            e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
            folded += int(((e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) <= 1e-6).sum())
    assert folded > 0                            # the fold path was exercised
    # the rest pose is exactly the identity
    assert np.array_equal(r.warp.field(np.concatenate([r.rest[:N_MESH, :2], r.anchor_pts])), r.warp.identity)


def test_field_matches_the_reference_off_the_grid():
    rng = np.random.default_rng(3)
    rest = rng.uniform(0, 255, (120, 2))
    w = MeshWarp(rest, 256, 64)
    for shift in (0.0, 20.0, -30.0):
        moved = rest + rng.normal(0, 3, rest.shape) + shift
        assert np.array_equal(w.field(moved), _reference_field(w, moved)), shift
