"""Eyes: the iris moves as a rigid disc inside the (moving) eye opening.

Why: warping the iris landmarks with the rest of the mesh smears the iris
into the sclera and drags lid pixels along. Instead, once per portrait the
iris disc is lifted out (what was visible of it) and the opening is filled
with sclera by interpolating each row between the sclera on either side.
Per frame the iris-free eye is warped like the rest of the face and the
disc is laid back at its new centre, clipped by the moved lids, so gaze
shifts slide the iris under the lids and a closing lid hides it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.face import landmarks as L


@dataclass
class EyeModel:
    contour: list[int]    # landmark ids around the opening
    iris: list[int]       # centre first
    radius: float         # iris radius in crop pixels
    patch: np.ndarray     # (s, s, 3) float32 iris colours
    alpha: np.ndarray     # (s, s) float32 visible-iris coverage at rest
    centre: np.ndarray    # (2,) rest iris centre


def _poly_mask(poly: np.ndarray, shape: tuple[int, int], offset=(0, 0)) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    p = np.round((np.asarray(poly) - offset) * 4).astype(np.int32)
    cv2.fillPoly(m, [p], 255, lineType=cv2.LINE_AA, shift=2)
    return m.astype(np.float32) / 255.0


def prepare_eyes(src: np.ndarray, pts: np.ndarray) -> tuple[list[EyeModel], np.ndarray]:
    """Iris models for both eyes and a copy of ``src`` with the irises removed."""
    n = src.shape[0]
    no_iris = src.copy()
    eyes = []
    for contour, iris in ((L.RIGHT_EYE, L.RIGHT_IRIS), (L.LEFT_EYE, L.LEFT_IRIS)):
        c = pts[iris[0], :2]
        r = float(np.mean(np.linalg.norm(pts[iris[1:], :2] - c, axis=1)))
        if r < 1.0:
            continue
        poly = pts[contour, :2]
        # iris patch around the centre
        h = int(np.ceil(r * 1.35)) + 1
        x0, y0 = int(round(c[0])) - h, int(round(c[1])) - h
        s = 2 * h + 1
        if x0 < 0 or y0 < 0 or x0 + s > n or y0 + s > n:
            continue
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        dist = np.hypot(xx + x0 - c[0], yy + y0 - c[1])
        disc = np.clip(r + 0.5 - dist, 0, 1)
        opening = _poly_mask(poly, (s, s), (x0, y0))
        patch, seen = _complete_iris(src[y0:y0 + s, x0:x0 + s].astype(np.float32), disc, opening,
                                     c - (x0, y0))
        eyes.append(EyeModel(list(contour), list(iris), r, patch, disc * seen, c.copy()))
        _fill_sclera(no_iris, poly, c, r)
    return eyes, no_iris


def _complete_iris(patch: np.ndarray, disc: np.ndarray, opening: np.ndarray,
                   c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill the part of the iris the lids hide, so a widened eye shows a round iris.

    Lids usually cover the top (and often the bottom) of the iris; when a
    surprised eye opens wider than the portrait's, or the iris moves, that
    part must appear. An iris is close to radially symmetric, so the hidden
    pixels take the median colour of the visible iris at the same distance
    from the centre (pupil, iris, darker rim), read only well inside the
    opening so lid and lash colours do not leak in; the top half a little
    darker, as the upper lid shades a real iris. Returns the patch and where
    the disc has colour (the whole disc when enough of it shows).
    """
    import cv2

    s = patch.shape[0]
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    rad = np.hypot(xx - c[0], yy - c[1])
    r = max(float(rad[disc > 0.5].max()) if (disc > 0.5).any() else 0.0, 1.0)
    core = cv2.erode((opening > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    core &= disc > 0.5
    if core.sum() < 6:
        return patch, opening
    bins = np.minimum((rad / r * 6).astype(int), 5)
    prof = np.full((6, patch.shape[2]), np.nan, np.float32)
    for k in range(6):
        sel = core & (bins == k)
        if sel.sum() >= 2:
            prof[k] = np.median(patch[sel], axis=0)
    have = np.flatnonzero(~np.isnan(prof[:, 0]))
    for k in range(6):
        if np.isnan(prof[k, 0]):
            prof[k] = prof[have[np.argmin(np.abs(have - k))]]
    # the rim is a darker ring; a lighter reading there is sclera mixed in
    prof[5] = np.minimum(prof[5], prof[4] * 0.85)
    inner = cv2.erode(opening.astype(np.float32), np.ones((3, 3), np.uint8))   # lid shadow rows count as hidden
    hidden = (disc > 0) & (inner < 0.999)
    out = patch.copy()
    filled = prof[bins] * np.where(yy < c[1], 0.88, 1.0)[..., None]   # the upper lid shades the top
    w = (1 - inner)[..., None]
    out[hidden] = (patch * (1 - w) + filled * w)[hidden]
    return out, np.ones_like(opening)


def _fill_sclera(img: np.ndarray, poly: np.ndarray, c: np.ndarray, r: float) -> None:
    """Replace the iris disc inside the opening, row by row, with the sclera beside it."""
    n = img.shape[0]
    x0 = max(0, int(np.floor(poly[:, 0].min())) - 1)
    x1 = min(n, int(np.ceil(poly[:, 0].max())) + 2)
    y0 = max(0, int(np.floor(poly[:, 1].min())) - 1)
    y1 = min(n, int(np.ceil(poly[:, 1].max())) + 2)
    opening = _poly_mask(poly, (y1 - y0, x1 - x0), (x0, y0)) > 0.5
    yy, xx = np.mgrid[y0:y1, x0:x1]
    disc = np.hypot(xx - c[0], yy - c[1]) <= r * 1.12 + 0.5
    hole = disc & opening
    sclera = opening & ~disc
    box = img[y0:y1, x0:x1].astype(np.float32)
    for row in range(box.shape[0]):
        hx = np.flatnonzero(hole[row])
        if len(hx) == 0:
            continue
        sx = np.flatnonzero(sclera[row])
        if len(sx) == 0:
            # no sclera on this row: take the nearest row that has some
            rows = [k for k in range(box.shape[0]) if sclera[k].any()]
            if not rows:
                continue
            k = min(rows, key=lambda k: abs(k - row))
            sx, vals = np.flatnonzero(sclera[k]), box[k][sclera[k]]
        else:
            vals = box[row][sclera[row]]
        for ch in range(3):
            box[row, hx, ch] = np.interp(hx, sx, vals[:, ch])
    img[y0:y1, x0:x1] = np.clip(box + 0.5, 0, 255).astype(np.uint8)


def paint_eyes(out: np.ndarray, no_iris_warped_box, eyes: list[EyeModel], moved: np.ndarray,
               iris_centres: list[np.ndarray], scale: float = 1.0) -> None:
    """Lay the iris discs at their new centres inside the moved openings (in place).

    no_iris_warped_box(x0, y0, x1, y1) returns the iris-free source warped
    into that output box, so the opening behind the iris is sclera.
    """
    import cv2

    n = out.shape[0]
    for eye, centre in zip(eyes, iris_centres):
        poly = moved[eye.contour, :2]
        x0 = max(0, int(np.floor(poly[:, 0].min())) - 2)
        x1 = min(n, int(np.ceil(poly[:, 0].max())) + 3)
        y0 = max(0, int(np.floor(poly[:, 1].min())) - 2)
        y1 = min(n, int(np.ceil(poly[:, 1].max())) + 3)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        opening = _poly_mask(poly, (y1 - y0, x1 - x0), (x0, y0))
        if opening.max() <= 0:
            continue
        base = no_iris_warped_box(x0, y0, x1, y1).astype(np.float32)
        # move the patch: affine shift (and scale) of the rest patch onto the box
        s = eye.patch.shape[0]
        h = (s - 1) / 2
        m = np.array([[scale, 0, centre[0] - x0 - h * scale], [0, scale, centre[1] - y0 - h * scale]], np.float32)
        size = (x1 - x0, y1 - y0)
        patch = cv2.warpAffine(eye.patch, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(eye.alpha, m, size, flags=cv2.INTER_LINEAR, borderValue=0)
        alpha = (alpha * opening)[..., None]
        box = out[y0:y1, x0:x1].astype(np.float32)
        inside = opening[..., None]
        eye_img = base * (1 - alpha) + patch * alpha
        out[y0:y1, x0:x1] = np.clip(box * (1 - inside) + eye_img * inside + 0.5, 0, 255).astype(np.uint8)


UPPER_R = [33, 246, 161, 160, 159, 158, 157, 173, 133]
LOWER_R = [33, 7, 163, 144, 145, 153, 154, 155, 133]
UPPER_L = [263, 466, 388, 387, 386, 385, 384, 398, 362]
LOWER_L = [263, 249, 390, 373, 374, 380, 381, 382, 362]


def lash_colour(src: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Dark colour of the upper lash line, sampled once from the portrait."""
    vals = []
    for idx in (UPPER_R, UPPER_L):
        for i in idx[2:-2]:
            x, y = int(round(pts[i, 0])), int(round(pts[i, 1]))
            if 1 <= x < src.shape[1] - 1 and 1 <= y < src.shape[0] - 1:
                vals.append(src[y - 1:y + 2, x].astype(np.float32))
    if not vals:
        return np.array([40, 30, 28], np.float32)
    v = np.concatenate(vals)
    return v[np.argsort(v.sum(1))[: max(1, len(v) // 4)]].mean(0)


def paint_closed_lids(out: np.ndarray, moved: np.ndarray, rest: np.ndarray,
                      amount: float | tuple[float, float], lash: np.ndarray) -> None:
    """Cover a (nearly) shut eye with lid skin and a soft lash line (in place).

    The warp squeezes the eye into a thin wavy sliver; a real closed lid is
    smooth skin ending in a lash line. Skin is interpolated per column
    between the skin just above the closing lid and just below the lower
    lid, so it keeps the portrait's own shading.
    """
    right, left = (amount, amount) if np.isscalar(amount) else amount  # subject's right, left eye
    n = out.shape[0]
    for up_idx, lo_idx, amount in ((UPPER_R, LOWER_R, right), (UPPER_L, LOWER_L, left)):
        if amount <= 0:
            continue
        gap_rest = float(np.mean(rest[lo_idx[3:6], 1] - rest[up_idx[3:6], 1]))
        gap_rest = max(gap_rest, 1.0)
        up, lo = moved[up_idx, :2], moved[lo_idx, :2]
        x0 = max(1, int(np.floor(min(up[:, 0].min(), lo[:, 0].min()))) - 1)
        x1 = min(n - 1, int(np.ceil(max(up[:, 0].max(), lo[:, 0].max()))) + 2)
        if x1 - x0 < 3:
            continue
        xs = np.arange(x0, x1) + 0.0
        ou, ol = np.argsort(up[:, 0]), np.argsort(lo[:, 0])
        top = np.interp(xs, up[ou, 0], up[ou, 1])
        bot = np.interp(xs, lo[ol, 0], lo[ol, 1])
        cover_top = top - 0.45 * gap_rest
        cover_bot = np.maximum(bot, top) + 0.12 * gap_rest
        y0 = max(1, int(np.floor(cover_top.min())) - 3)
        y1 = min(n - 1, int(np.ceil(cover_bot.max())) + 4)
        if y1 - y0 < 2:
            continue
        ys = (np.arange(y0, y1) + 0.0)[:, None]
        box = out[y0:y1, x0:x1].astype(np.float32)
        cols = np.arange(x1 - x0)
        ya = np.clip(np.round(cover_top - 2).astype(int) - y0, 0, y1 - y0 - 1)
        yb = np.clip(np.round(cover_bot + 2).astype(int) - y0, 0, y1 - y0 - 1)
        above, below = box[ya, cols], box[yb, cols]
        t = np.clip((ys - ya[None, :] - y0) / np.maximum(yb - ya, 1)[None, :], 0, 1)[..., None]
        skin = above[None] * (1 - t) + below[None] * t
        # soft mask between the covers, fading towards the eye corners
        across = np.clip(np.minimum(xs - xs[0], xs[-1] - xs) / max(0.18 * (xs[-1] - xs[0]), 1), 0, 1)[None, :]
        m = np.clip(ys - cover_top[None, :] + 1, 0, 1) * np.clip(cover_bot[None, :] - ys + 1, 0, 1)
        m = m * (0.35 + 0.65 * across)
        # lash line along the lower edge of the closed lid
        lash_y = np.maximum(bot, top)[None, :] - 0.03 * gap_rest
        lw = max(0.9, 0.1 * gap_rest)
        lm = np.exp(-((ys - lash_y) / lw) ** 2) * across * 0.85
        img = skin * (1 - lm[..., None]) + lash[None, None] * lm[..., None]
        a = (np.maximum(m, lm) * amount)[..., None]
        out[y0:y1, x0:x1] = np.clip(box * (1 - a) + img * a + 0.5, 0, 255).astype(np.uint8)
