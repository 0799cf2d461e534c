"""The head's depth and follow maps, the person mask, and the portrait's own detail.

Why: the head moves by a smooth forward field (``warp.PoseField``). An
earlier version kept the background still and laid the warped person over a
plate in which the person had been inpainted (TELEA at 128 px): wherever the
head moved at all, a blurred patch showed beside the hair, in every frame.
Now the background next to the head moves *with* it, by a follow weight that
is 1 on the head and hair and decays smoothly with the distance from them
(as a puppet warp does), to exactly 0 a little under half a face width out.
Nothing is ever uncovered, so nothing has to be filled; hair strands at the
edge move with their background instead of being cut out by a mask; the
background farther out stays pixel-still.

``DetailLayer`` keeps the face at the portrait's resolution: the crop at the
output's scale is split once into a low band (Gaussian, sigma 1 px) and
the rest; per frame the low band is resampled bilinearly and the high band
by nearest pixel through the same (upsampled) field, so the fine texture is
moved whole instead of being averaged away by sub-pixel interpolation.
"""

from __future__ import annotations

import numpy as np

from core.face import landmarks as L

# follow weight decays to 0 over this many face widths outside the head and hair
FOLLOW_REACH = 0.45
# the follow weight is 0 within EDGE_STILL of the crop border (as a fraction of
# the crop side) and reaches 1 EDGE_RAMP further in: a wide ramp, because the
# head often fills the crop and a steep one shears the background beside it
EDGE_STILL, EDGE_RAMP = 0.03, 0.17
# detail split: the low band (Gaussian sigma, output pixels) is resampled bilinearly
DETAIL_SIGMA = 1.0


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def person_mask_for_crop(src: np.ndarray, seg: np.ndarray | None = None) -> np.ndarray:
    """Soft person probability (n, n) float32 for a square crop (selfie segmentation at 256 px)."""
    import cv2

    from core.face.segmentation import person_mask

    n = src.shape[0]
    small = cv2.resize(src, (256, 256), interpolation=cv2.INTER_AREA)
    m = person_mask(small) if seg is None else cv2.resize(seg, (256, 256))
    mask = cv2.resize(m, (n, n), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(mask, (0, 0), max(0.6, n / 512)).astype(np.float32)


def head_maps(pts: np.ndarray, n: int, grid: int, mesh_depth: np.ndarray,
              face_cover: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth and follow weight on the warp grid, and the rotation pivot.

    Depth: the face mesh's own z inside the face, a rounded head (ellipsoid
    with a soft rim, so the warp never gets an infinite slope) outside it.
    Follow: 1 over the head and hair (the person mask near the head, and the
    head's ellipse where segmentation missed some), decaying smoothly with
    the distance from them to 0 at FOLLOW_REACH face widths, fading down the
    neck, 0 near the crop border so the border (and the body) stays put.
    ``person`` is the (n, n) person probability.
    """
    import cv2
    from scipy.ndimage import distance_transform_edt

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

    # follow weight: the head and hair, and the background beside them,
    # decaying with the distance from them (nothing is uncovered)
    r = np.sqrt(((gx - cx) / (1.0 * face_w)) ** 2 + ((gy - hy) / (1.15 * face_w)) ** 2)
    body = cv2.resize(person, (grid, grid), interpolation=cv2.INTER_AREA) > 0.5
    core = (body & (r < 1.3)) | (r < 0.72)
    dist = distance_transform_edt(~core) * (n / grid) / face_w
    near = 1 - _smoothstep(dist / FOLLOW_REACH)
    below = (gy - chin_y) / face_w
    neck = 1 - _smoothstep((below + 0.05) / 0.85)
    follow = near * neck
    # keep the crop border (and the outer half of the feathered blend band) still
    edge = np.minimum(np.minimum(gx, n - 1 - gx), np.minimum(gy, n - 1 - gy)) / n
    follow *= _smoothstep((edge - EDGE_STILL) / EDGE_RAMP)
    return depth.astype(np.float32), follow.astype(np.float32), pivot


class DetailLayer:
    """The face crop at the output's scale, warped per frame without losing its fine texture.

    Why: the work-size render (``--size``) scaled back to a large portrait
    loses the photo's hair strands, lashes and skin texture, and bilinear
    resampling at sub-pixel offsets averages away much of the rest (a 3
    degree rotation keeps 64 % of the mean |Laplacian| of lp_s2's grainy
    photo, 73 % of lp_s7's crisp cartoon). Splitting the crop into a low
    band (resampled bilinearly: smooth motion) and a high band (moved by
    nearest pixel: texture kept whole, position within half a pixel) keeps
    99-102 % of it, for one bilinear and one nearest remap.
    """

    def __init__(self, crop: np.ndarray, n: int):
        import cv2

        self.side = crop.shape[0]
        self.n = n
        self.scale = self.side / n
        self.low = cv2.GaussianBlur(crop, (0, 0), DETAIL_SIGMA)
        self.high = crop.astype(np.int16) - self.low.astype(np.int16)

    def displacement(self, field: np.ndarray) -> np.ndarray:
        """(g, g, 2) displacement in output pixels of a coarse field of work-size positions."""
        from core.render.warp import _grid_centres   # the coarse cells' centres, computed once

        return ((field - _grid_centres(field.shape[0], self.n)) * self.scale).astype(np.float32)

    def maps(self, disp: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Remap maps for the output box (x0, y0, x1, y1): the displacement upsampled
        bilinearly plus exact pixel coordinates, so a zero displacement gives integer
        maps and bit-identical pixels."""
        import cv2

        x0, y0, x1, y1 = box
        fx, fy = (cv2.resize(np.ascontiguousarray(disp[..., c]), (self.side, self.side),
                             interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1] for c in (0, 1))
        return (fx + np.arange(x0, x1, dtype=np.float32)[None, :],
                fy + np.arange(y0, y1, dtype=np.float32)[:, None])

    def warp(self, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
        """The crop warped through the maps: low band bilinear + high band nearest (uint8)."""
        import cv2

        low = cv2.remap(self.low, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        high = cv2.remap(self.high, fx, fy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
        return cv2.add(low, high, dtype=cv2.CV_8U)


def upscale_box(img: np.ndarray, box_n: tuple[int, int, int, int], scale: float,
                box_o: tuple[int, int, int, int]) -> np.ndarray:
    """``img`` (work-size pixels, box_n cut out of it) resampled onto the output box box_o.

    Same pixel-centre convention as ``cv2.resize`` of the whole crop, so a
    piece upscaled this way matches the whole crop upscaled.
    """
    import cv2

    x0, y0 = box_n[0], box_n[1]
    k = 1.0 / scale
    m = np.float32([[k, 0, (box_o[0] + 0.5) * k - 0.5 - x0], [0, k, (box_o[1] + 0.5) * k - 0.5 - y0]])
    return cv2.warpAffine(img, m, (box_o[2] - box_o[0], box_o[3] - box_o[1]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
