"""A face texture space shared by every face: the face mesh laid flat.

Expression appearance (folds, wrinkles, shading) is learned on real actors
and carried onto any portrait. To do that, each face is mapped onto one
canonical layout of the 468 face-mesh points (a mean frontal face, eyes
level, fixed eye-corner positions) by a piecewise-affine warp over one
triangulation of that layout: a pixel of the texture is the same spot of
skin on every face. Pure NumPy/OpenCV; no model is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_MESH = 468


@dataclass
class TextureLayout:
    """The canonical face: landmark positions (468, 2) in a side x side texture, and triangles."""

    side: int
    points: np.ndarray      # (468, 2) float32, texture pixels
    triangles: np.ndarray   # (M, 3) int32, indices into points

    @staticmethod
    def from_points(points: np.ndarray, side: int) -> "TextureLayout":
        from scipy.spatial import Delaunay

        pts = np.asarray(points, np.float64)[:N_MESH, :2]
        tri = Delaunay(pts).simplices.astype(np.int32)
        # drop sliver triangles along the hull (they stretch across concave edges)
        a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
        area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
        longest = np.max(np.stack([np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1),
                                   np.linalg.norm(a - c, axis=1)], 1), 1)
        keep = area / np.maximum(longest ** 2, 1e-9) > 0.02
        return TextureLayout(side, pts.astype(np.float32), tri[keep])


def triangle_index(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) int32 map: which triangle covers each pixel centre (-1: none).

    Rasterised with OpenCV in triangle order, so where a turned face folds a
    triangle over another the later one wins, which is harmless here.
    """
    import cv2

    h, w = shape
    idx = np.full((h, w), -1, np.int32)
    q = np.round(np.asarray(points, np.float64) * 16).astype(np.int32)
    for k, t in enumerate(triangles):
        cv2.fillConvexPoly(idx, q[t], int(k), lineType=cv2.LINE_8, shift=4)
    return idx


def barycentric_map(points: np.ndarray, triangles: np.ndarray, idx: np.ndarray,
                    target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every covered pixel, where it lands among ``target`` points (same triangles).

    Returns (map_x, map_y, covered) of idx's shape, float32 maps for cv2.remap.
    """
    h, w = idx.shape
    ys, xs = np.nonzero(idx >= 0)
    map_x = np.full((h, w), -1.0, np.float32)
    map_y = np.full((h, w), -1.0, np.float32)
    if len(ys) == 0:
        return map_x, map_y, idx >= 0
    tri = triangles[idx[ys, xs]]
    p = np.asarray(points, np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    v0, v1 = b - a, c - a
    v2 = np.stack([xs, ys], 1).astype(np.float64) - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    l1, l2 = np.clip(l1, -0.05, 1.05), np.clip(l2, -0.05, 1.05)
    t = np.asarray(target, np.float64)
    dst = t[tri[:, 0]] * (1 - l1 - l2)[:, None] + t[tri[:, 1]] * l1[:, None] + t[tri[:, 2]] * l2[:, None]
    map_x[ys, xs] = dst[:, 0]
    map_y[ys, xs] = dst[:, 1]
    return map_x, map_y, idx >= 0


def to_texture(image: np.ndarray, face_points: np.ndarray, layout: TextureLayout) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap ``image`` (face landmarks ``face_points``) into the layout; returns (texture, covered)."""
    import cv2

    idx = triangle_index(layout.points, layout.triangles, (layout.side, layout.side))
    mx, my, cov = barycentric_map(layout.points, layout.triangles, idx, np.asarray(face_points)[:N_MESH, :2])
    tex = cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return tex, cov


def from_texture(texture: np.ndarray, face_points: np.ndarray, layout: TextureLayout,
                 shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Lay a texture-space image onto a face with landmarks ``face_points`` in an image of ``shape``.

    Returns (image, covered); pixels outside the face mesh are 0.
    """
    import cv2

    pts = np.asarray(face_points)[:N_MESH, :2]
    idx = triangle_index(pts, layout.triangles, shape)
    mx, my, cov = barycentric_map(pts, layout.triangles, idx, layout.points)
    out = cv2.remap(texture, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0)
    out[~cov] = 0
    return out, cov


def canonical_points(faces: list[np.ndarray], side: int) -> np.ndarray:
    """Mean frontal layout of several faces, similarity-aligned on the outer eye corners.

    The outer eye corners land at (0.3 side, 0.4 side) and (0.7 side, 0.4 side).
    """
    acc = []
    for f in faces:
        p = np.asarray(f, np.float64)[:N_MESH, :2]
        r, l_ = p[33], p[263]
        acc.append(_similarity(p, r, l_, np.array([0.3, 0.4]) * side, np.array([0.7, 0.4]) * side))
    return np.mean(acc, 0).astype(np.float32)


def _similarity(p: np.ndarray, a: np.ndarray, b: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Move points so that a -> a2 and b -> b2 by rotation, scale and shift."""
    za, zb = complex(*a), complex(*b)
    wa, wb = complex(*a2), complex(*b2)
    s = (wb - wa) / (zb - za)
    z = p[:, 0] + 1j * p[:, 1]
    w = wa + (z - za) * s
    return np.stack([w.real, w.imag], 1)
