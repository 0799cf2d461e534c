"""Dense image warps driven by sparse landmark moves.

Two kinds, composed into one backward map per frame:

* ``MeshWarp`` (expression): backward mapping over a fixed triangulation of
  the rest pose. Each frame the moved triangles are rasterised (triangle ids
  on a coarse grid) and every grid point samples the source at the same
  barycentric position in its rest triangle. Keeping the rest topology
  matters: a triangulation of the moved points would reconnect rows that
  converge (a closing eyelid) and produce zig-zags. Triangles that flip
  (fold over) are skipped so a neighbour covers them instead of garbage.
* ``PoseField`` (head pose): a smooth forward displacement known on the
  rest grid (depth-aware 3-D rotation weighted by how much each pixel
  follows the head), inverted by fixed-point iteration. Smooth fields invert
  well this way, and a fold-free pose warp is what keeps hair and the head
  outline intact at 20 degrees of yaw.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.spatial import Delaunay


class MeshWarp:
    """Piecewise-affine backward warp with the triangulation of the rest control points."""

    def __init__(self, rest: np.ndarray, size: int, grid: int):
        import cv2  # noqa: F401  (fail early if missing)

        self.rest = np.asarray(rest, np.float64)
        simp = Delaunay(self.rest).simplices.astype(np.int32)
        # orient every triangle counter-clockwise in the rest pose
        t = self.rest[simp]
        area = (t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1]) - (t[:, 1, 1] - t[:, 0, 1]) * (t[:, 2, 0] - t[:, 0, 0])
        simp[area < 0] = simp[area < 0][:, [0, 2, 1]]
        self.simplices = simp
        self._rest_tri = self.rest[simp]                     # (T, 3, 2) rest corners
        self._rest_x = np.ascontiguousarray(self._rest_tri[..., 0])
        self._rest_y = np.ascontiguousarray(self._rest_tri[..., 1])
        self.size, self.grid = size, grid
        self.k = grid / size  # pixel -> grid units
        lin = (np.arange(grid, dtype=np.float64) + 0.5) / self.k - 0.5
        gx, gy = np.meshgrid(lin, lin)
        self.query = np.stack([gx.ravel(), gy.ravel()], 1)
        self._query_x, self._query_y = gx.ravel().copy(), gy.ravel().copy()   # planar, for the per-frame step
        self.identity = self.query.reshape(grid, grid, 2).astype(np.float32)
        self.lin = lin

    def field(self, moved: np.ndarray) -> np.ndarray:
        """(grid, grid, 2) source pixel coordinates for the moved control points.

        Only triangles with a moved corner are rasterised; everything else
        is identity, which is also what makes the rest frame exact.
        """
        import cv2

        moved = np.asarray(moved, np.float64)
        tri_dst = moved[self.simplices]               # (T, 3, 2)
        e1 = tri_dst[:, 1] - tri_dst[:, 0]
        e2 = tri_dst[:, 2] - tri_dst[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        # only triangles that actually moved need rasterising; flipped or
        # collapsed ones are left to their neighbours
        delta = np.abs(tri_dst - self._rest_tri).max(axis=(1, 2))
        moving = delta > 0.05
        todo = np.flatnonzero(moving & (area > 1e-6))
        if len(todo) == 0:
            return self.identity.copy()
        out = self.query.copy()
        ids = np.full((self.grid, self.grid), -1, np.int32)
        pts = np.round((tri_dst * self.k - 0.5) * 16).astype(np.int32)  # 4 fractional bits
        flipped = np.flatnonzero(moving & (area <= 1e-6))
        if len(flipped):
            # mark where folded triangles land; they are filled from the
            # nearest good triangle below instead of showing the rest image
            for p in list(pts[flipped]):
                cv2.fillConvexPoly(ids, p, -2, cv2.LINE_8, 4)
        # (about 900 calls a frame: positional arguments and the triangles split into
        # a list up front cost a third less per call than keywords and pts[t]; a
        # NumPy rasteriser drawing the same cells all at once was slower still)
        fill = cv2.fillConvexPoly
        for t, p in zip(todo.tolist(), list(pts[todo])):
            fill(ids, p, t, cv2.LINE_8, 4)
        flat = ids.ravel()
        hit = np.flatnonzero(flat >= 0)
        if len(hit):
            # x and y kept in separate (planar) arrays: the same arithmetic, element by
            # element, as on (n, 2) arrays, whose last axis of 2 made every product a
            # slow broadcast (this block took half the field's time)
            t = flat[hit]
            tx, ty = tri_dst[:, :, 0][t], tri_dst[:, :, 1][t]        # (hits, 3) corners
            ax, ay = tx[:, 0], ty[:, 0]
            v0x, v0y = tx[:, 1] - ax, ty[:, 1] - ay
            v1x, v1y = tx[:, 2] - ax, ty[:, 2] - ay
            v2x, v2y = self._query_x[hit] - ax, self._query_y[hit] - ay
            den = v0x * v1y - v1x * v0y
            den = np.where(np.abs(den) < 1e-12, 1e-12, den)
            l1 = (v2x * v1y - v1x * v2y) / den
            l2 = (v0x * v2y - v2x * v0y) / den
            # rasterised cells can fall just outside a thin triangle: clamp the
            # barycentric weights so they never extrapolate to a far source
            l0 = np.clip(1 - l1 - l2, 0, 1)
            l1, l2 = np.clip(l1, 0, 1), np.clip(l2, 0, 1)
            tot = np.maximum(l0 + l1 + l2, 1e-9)
            l1, l2 = l1 / tot, l2 / tot
            l0 = 1 - l1 - l2
            sx, sy = self._rest_x[t], self._rest_y[t]                # (hits, 3) rest corners
            out[hit, 0] = sx[:, 0] * l0 + sx[:, 1] * l1 + sx[:, 2] * l2
            out[hit, 1] = sy[:, 0] * l0 + sy[:, 1] * l1 + sy[:, 2] * l2
        hole = ids == -2
        if hole.any():
            # copy the source position of the nearest properly covered point
            from scipy.ndimage import distance_transform_edt

            _, (iy, ix) = distance_transform_edt(ids < 0, return_indices=True)
            o = out.reshape(self.grid, self.grid, 2)
            o[hole] = o[iy[hole], ix[hole]]
        return out.reshape(self.grid, self.grid, 2).astype(np.float32)


class PoseField:
    """Head-pose warp: forward displacements on the rest grid, inverted per frame."""

    def __init__(self, size: int, grid: int, depth: np.ndarray, follow: np.ndarray,
                 pivot: np.ndarray, face_w: float, iterations: int = 6):
        self.size, self.grid = size, grid
        self.k = grid / size
        lin = (np.arange(grid, dtype=np.float64) + 0.5) / self.k - 0.5
        gx, gy = np.meshgrid(lin, lin)
        self.p = np.stack([gx, gy, depth.astype(np.float64)], -1)  # (g, g, 3) rest points
        self.follow = follow.astype(np.float64)
        self.pivot = np.asarray(pivot, np.float64)
        self.face_w = float(face_w)
        self.iterations = iterations
        self.xy = np.stack([gx, gy], -1).astype(np.float32)
        # the rest points about the pivot, flat: one (g*g, 3) x (3, 2) product a frame
        self._qp = np.stack([(self.p[..., k] - self.pivot[k]).ravel() for k in range(3)])   # (3, g*g)
        self._p2 = np.stack([self.p[..., k].ravel() for k in range(2)])                     # (2, g*g)
        self._follow1 = self.follow.reshape(1, -1)

    def forward(self, rot: np.ndarray, tx: float, ty: float, sc: float) -> np.ndarray:
        """(g, g, 2) forward displacement in pixels of every rest grid point."""
        # the (3, 2) x (3, g*g) product written out on planar rows (the sums in the order
        # numpy's own loops take; arrays with a last axis of 2 were 3-4x slower, and BLAS
        # threads only waited for a busy core here)
        q, r = self._qp, rot[:2]
        d = r[:, 0:1] * q[0] + r[:, 1:2] * q[1] + r[:, 2:3] * q[2]
        d *= 1.0 + sc
        d += self.pivot[:2, None]
        d -= self._p2
        d[0] += tx * self.face_w
        d[1] += ty * self.face_w
        d *= self._follow1
        return np.ascontiguousarray(d.T, dtype=np.float32).reshape(self.grid, self.grid, 2)

    def inverse(self, disp: np.ndarray) -> np.ndarray:
        """(g, g, 2) rest-image pixel positions that land on each grid point."""
        import cv2

        y = self.xy - disp
        for _ in range(self.iterations):
            # grid coordinates of y as one two-channel map
            d = cv2.remap(disp, (y + 0.5) * self.k - 0.5, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
            y = self.xy - d
        return y


def sample_field(field: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """Compose: read a coarse (g, g, 2) pixel-valued field at pixel positions ``at``."""
    import cv2

    g = field.shape[0]
    k = g / size
    gx = (at[..., 0] + 0.5) * k - 0.5
    gy = (at[..., 1] + 0.5) * k - 0.5
    return cv2.remap(field, gx.astype(np.float32), gy.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=8)
def _grid_centres(g: int, out_size: int) -> np.ndarray:
    """(g, g, 2) pixel positions of the coarse grid's cells (read-only, shared)."""
    lin = ((np.arange(g, dtype=np.float32) + 0.5) * out_size / g - 0.5)
    out = np.stack(np.meshgrid(lin, lin), -1)
    out.setflags(write=False)
    return out


def upsample_field(field: np.ndarray, out_size: int,
                   box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coarse (g, g, 2) field of pixel positions -> full-resolution remap maps.

    The displacement (not the position) is upsampled and added to exact
    pixel coordinates, so wherever the field is identity the maps are exact
    integers: still pixels, the crop border included, come out bit-identical.
    ``box`` (x0, y0, x1, y1): only that part of the maps (the same values).
    """
    import cv2

    g = field.shape[0]
    disp = field - _grid_centres(g, out_size)
    x0, y0, x1, y1 = box if box is not None else (0, 0, out_size, out_size)
    f = out_size // g
    if box is not None and f * g == out_size:
        # an integer scale: resizing just the coarse cells under the box (and one
        # more on each side, so no output pixel sees the part's edge) gives the
        # same numbers as resizing the whole field (tested), for a fraction of it
        cx0, cy0 = max(0, x0 // f - 1), max(0, y0 // f - 1)
        cx1, cy1 = min(g, -(-x1 // f) + 1), min(g, -(-y1 // f) + 1)
        up = cv2.resize(disp[cy0:cy1, cx0:cx1], ((cx1 - cx0) * f, (cy1 - cy0) * f),
                        interpolation=cv2.INTER_LINEAR)
        up = up[y0 - cy0 * f:y1 - cy0 * f, x0 - cx0 * f:x1 - cx0 * f]
    else:
        up = cv2.resize(disp, (out_size, out_size), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]
    return (up[..., 0] + np.arange(x0, x1, dtype=np.float32)[None, :],
            up[..., 1] + np.arange(y0, y1, dtype=np.float32)[:, None])

