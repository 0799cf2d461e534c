"""Person layer over a still background plate, and the head's depth and follow maps.

Why: moving the head by warping the whole crop drags the background along
("swimming" backgrounds) and breaks the outline where the head meets the
background. Instead the person is warped on their own and laid over a
background plate in which the person was filled in once, so the background
never moves and whatever the head uncovers is plausible background, not a
smear. Everything here is computed once per portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.face import landmarks as L


@dataclass
class Layers:
    """Per-portrait maps at the work size n (and on the coarse warp grid)."""

    mask: np.ndarray      # (n, n) float32 person probability
    plate: np.ndarray     # (n, n, 3) uint8 background with the person filled in
    depth: np.ndarray     # (g, g) float z of every grid point (pixels, larger = further)
    follow: np.ndarray    # (g, g) float 0..1 how much each grid point follows the head
    pivot: np.ndarray     # (3,) rotation centre


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def person_layer(src: np.ndarray, seg: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Soft person mask and an inpainted background plate for a square crop."""
    import cv2

    from core.face.segmentation import person_mask

    n = src.shape[0]
    small = cv2.resize(src, (256, 256), interpolation=cv2.INTER_AREA)
    m = person_mask(small) if seg is None else cv2.resize(seg, (256, 256))
    mask = cv2.resize(m, (n, n), interpolation=cv2.INTER_LINEAR)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, n / 512))
    # fill the person (grown a little, so no halo of hair stays) on a small copy
    s = 128
    tiny = cv2.resize(src, (s, s), interpolation=cv2.INTER_AREA)
    hard = (cv2.resize(m, (s, s)) > 0.25).astype(np.uint8)
    hard = cv2.dilate(hard, np.ones((5, 5), np.uint8))
    if hard.mean() > 0.97:  # nothing but person: no background to show
        plate_small = tiny
    else:
        plate_small = cv2.inpaint(tiny, hard * 255, 6, cv2.INPAINT_TELEA)
        plate_small = cv2.GaussianBlur(plate_small, (0, 0), 2.0)
    fill = cv2.resize(plate_small, (n, n), interpolation=cv2.INTER_CUBIC)
    grown = cv2.resize(hard.astype(np.float32), (n, n), interpolation=cv2.INTER_LINEAR)
    grown = np.maximum(grown, mask)[..., None]
    plate = (src.astype(np.float32) * (1 - grown) + fill.astype(np.float32) * grown + 0.5).astype(np.uint8)
    return mask.astype(np.float32), plate


def head_maps(pts: np.ndarray, n: int, grid: int, mesh_depth: np.ndarray,
              face_cover: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth and follow weight on the warp grid, and the rotation pivot.

    Depth: the face mesh's own z inside the face, a rounded head (ellipsoid
    with a soft rim, so the warp never gets an infinite slope) outside it.
    Follow: 1 over the head and hair, fading down the neck, 0 well away from
    the head so the crop border (and the body) stays put.
    """
    import cv2

    face_w = float(np.ptp(pts[L.FACE_OVAL, 0]))
    chin_y = float(pts[L.CHIN, 1])
    top_y = float(pts[L.FOREHEAD, 1])
    cx = float(pts[[234, 454], 0].mean())
    cy = float(pts[[234, 454], 1].mean())
    zc = float(pts[L.FACE_OVAL, 2].mean())
    depth_r = 0.6 * face_w
    pivot = np.array([cx, cy, zc + 0.35 * face_w])

    lin = (np.arange(grid) + 0.5) * n / grid - 0.5
    gx, gy = np.meshgrid(lin, lin)
    a = 0.62 * face_w
    b = 0.5 * (chin_y - top_y) * 1.35
    hy = (top_y + chin_y) / 2 - 0.1 * (chin_y - top_y)
    rho = np.sqrt(((gx - cx) / a) ** 2 + ((gy - hy) / b) ** 2)
    # cosine-shaped dome: finite slope at the rim
    dome = pivot[2] - depth_r * np.cos(np.clip(rho, 0, 1) * np.pi / 2)
    # bring the mesh depth onto the dome: same mean over the face
    inside = face_cover > 0.5
    zm = mesh_depth.copy()
    if inside.any():
        zm = zm - zm[inside].mean() + dome[inside].mean()
    wf = cv2.GaussianBlur((face_cover > 0.5).astype(np.float32), (0, 0), grid / 40)
    wf = np.minimum(wf, face_cover)
    depth = dome * (1 - wf) + np.where(inside, zm, dome) * wf
    depth = cv2.GaussianBlur(depth.astype(np.float32), (0, 0), grid / 90)

    # follow weight: radial around the head, reduced below the chin
    r = np.sqrt(((gx - cx) / (1.0 * face_w)) ** 2 + ((gy - hy) / (1.15 * face_w)) ** 2)
    radial = 1 - _smoothstep((r - 0.72) / 0.3)
    below = (gy - chin_y) / face_w
    neck = 1 - _smoothstep((below + 0.05) / 0.85)
    follow = radial * neck
    # keep the crop border (and the feathered blend band) still
    edge = np.minimum(np.minimum(gx, n - 1 - gx), np.minimum(gy, n - 1 - gy)) / n
    follow *= _smoothstep((edge - 0.06) / 0.08)
    return depth.astype(np.float32), follow.astype(np.float32), pivot
