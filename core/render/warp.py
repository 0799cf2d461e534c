"""Dense image warp driven by sparse landmark moves.

Backward mapping over a fixed triangulation of the rest pose: each frame
the moved triangles are rasterised (triangle ids on a coarse grid), and
every grid point samples the source at the same barycentric position in its
rest triangle. Keeping the rest topology matters: a triangulation of the
moved points would reconnect rows that converge (a closing eyelid) and
produce zig-zags. The coarse field is upsampled and applied with one
``cv2.remap``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay


class MeshWarp:
    """Warp with the triangulation of the rest control points."""

    def __init__(self, rest: np.ndarray, size: int, grid: int):
        self.rest = np.asarray(rest, np.float64)
        self.simplices = Delaunay(self.rest).simplices.astype(np.int32)
        self.size, self.grid = size, grid
        self.k = grid / size  # pixel -> grid units
        lin = (np.arange(grid, dtype=np.float64) + 0.5) / self.k - 0.5
        gx, gy = np.meshgrid(lin, lin)
        self.query = np.stack([gx.ravel(), gy.ravel()], 1)
        self.identity = self.query.reshape(grid, grid, 2).astype(np.float32)

    def field(self, moved: np.ndarray) -> np.ndarray:
        """(grid, grid, 2) source pixel coordinates for the moved control points."""
        import cv2

        moved = np.asarray(moved, np.float64)
        tri_dst = moved[self.simplices]               # (T, 3, 2)
        # signed areas: skip degenerate triangles (they cover no pixel anyway)
        e1 = tri_dst[:, 1] - tri_dst[:, 0]
        e2 = tri_dst[:, 2] - tri_dst[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        ids = np.full((self.grid, self.grid), -1, np.int32)
        pts = np.round((tri_dst * self.k - 0.5) * 16).astype(np.int32)  # 4 fractional bits
        for t in np.flatnonzero(np.abs(area) > 1e-6):
            cv2.fillConvexPoly(ids, pts[t], int(t), lineType=cv2.LINE_8, shift=4)
        missing = ids < 0
        if missing.any() and not missing.all():
            # slivers can miss grid points: borrow the nearest covered point's triangle
            from scipy.ndimage import distance_transform_edt

            _, (iy, ix) = distance_transform_edt(missing, return_indices=True)
            ids = ids[iy, ix]
        flat = ids.ravel()
        hit = flat >= 0
        out = self.query.copy()
        if hit.any():
            t = flat[hit]
            q = self.query[hit]
            a, b, c = tri_dst[t, 0], tri_dst[t, 1], tri_dst[t, 2]
            v0, v1, v2 = b - a, c - a, q - a
            den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
            den = np.where(np.abs(den) < 1e-12, 1e-12, den)
            l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
            l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
            src = self.rest[self.simplices[t]]
            out[hit] = src[:, 0] * (1 - l1 - l2)[:, None] + src[:, 1] * l1[:, None] + src[:, 2] * l2[:, None]
        return out.reshape(self.grid, self.grid, 2).astype(np.float32)


def apply_field(image: np.ndarray, field: np.ndarray, out_size: int) -> np.ndarray:
    """Upsample a coarse backward field and remap ``image`` through it."""
    import cv2

    scale = image.shape[0] / out_size
    fx = cv2.resize(field[..., 0], (out_size, out_size), interpolation=cv2.INTER_LINEAR) * scale
    fy = cv2.resize(field[..., 1], (out_size, out_size), interpolation=cv2.INTER_LINEAR) * scale
    return cv2.remap(image, fx, fy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
