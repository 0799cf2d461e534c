"""Dense image warp driven by sparse landmark moves.

Backward mapping: for each output pixel, find the triangle of the *moved*
landmarks that holds it and sample the source at the same barycentric
position in the rest triangle. Evaluated on a coarse grid and upsampled
(the field is smooth inside triangles), then one ``cv2.remap``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay


def backward_field(src: np.ndarray, dst: np.ndarray, size: int, grid: int) -> np.ndarray:
    """Map (grid, grid, 2) of source pixel coords for a size x size output.

    src, dst: (K, 2) control points in pixels (rest and moved). The points
    must include the image border so every grid point lies in a triangle.
    """
    tri = Delaunay(dst)
    lin = (np.arange(grid, dtype=np.float64) + 0.5) * (size / grid) - 0.5
    gx, gy = np.meshgrid(lin, lin)
    q = np.stack([gx.ravel(), gy.ravel()], 1)
    s = tri.find_simplex(q)
    s = np.where(s < 0, 0, s)
    t = tri.transform[s]                      # (Q, 3, 2)
    b = np.einsum("qij,qj->qi", t[:, :2], q - t[:, 2])
    bary = np.concatenate([b, 1 - b.sum(1, keepdims=True)], 1)
    verts = tri.simplices[s]                  # (Q, 3)
    mapped = np.einsum("qk,qkd->qd", bary, src[verts])
    return mapped.reshape(grid, grid, 2).astype(np.float32)


def apply_field(image: np.ndarray, field: np.ndarray, out_size: int) -> np.ndarray:
    """Upsample a coarse backward field and remap ``image`` through it."""
    import cv2

    scale = image.shape[0] / out_size
    fx = cv2.resize(field[..., 0], (out_size, out_size), interpolation=cv2.INTER_LINEAR) * scale
    fy = cv2.resize(field[..., 1], (out_size, out_size), interpolation=cv2.INTER_LINEAR) * scale
    return cv2.remap(image, fx, fy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
