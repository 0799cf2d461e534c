"""Synthesise the inside of a mouth that opens wider than in the portrait.

A warp alone would stretch the lip line into a smear. Inside the moved
inner-lip contour we paint a cavity (dark, shaded deeper towards the back),
upper teeth hanging from the upper lip, lower teeth on the lower lip when
the jaw is well open, and a tongue hint; colours are derived from the face's
own skin so the inside matches its lighting. Where the portrait already
showed an open mouth, its own interior (warped) is kept and only the newly
opened area is painted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.face import landmarks as L

SS = 4  # sub-pixel precision for polygon filling (cv2 shift bits = 2)
# inner-lip curves from corner to corner (78 and 308 are the inner corners)
UPPER_INNER = [78] + L.UPPER_LIP_INNER + [308]
LOWER_INNER = [78] + L.LOWER_LIP_INNER + [308]
UPPER_CROWN = 0.075   # most of the upper incisors shown below the upper lip, in eye-corner distances
LOWER_CROWN = 0.055   # most of the lower incisors shown above the lower lip
TEETH_HIDDEN_BY_ROUNDING = 0.8  # share of the painted teeth height the lips cover at lip_round = 1


def _poly_mask(poly: np.ndarray, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    import cv2

    m = np.zeros((h, w), np.uint8)
    p = np.round((poly - [x0, y0]) * SS).astype(np.int32)
    cv2.fillPoly(m, [p], 255, lineType=cv2.LINE_AA, shift=2)
    return m.astype(np.float32) / 255.0


def _lip_curve(pts: np.ndarray, idx: list[int], xs: np.ndarray) -> np.ndarray:
    p = pts[idx, :2]
    order = np.argsort(p[:, 0])
    return np.interp(xs, p[order, 0], p[order, 1])


@dataclass
class MouthLook:
    """Colours of this portrait's mouth, sampled once so the inside matches its light."""

    lip: np.ndarray       # RGB of the lips
    teeth: np.ndarray     # RGB of (visible or assumed) teeth
    lum: float            # overall brightness relative to a mid-lit face
    rest_gap: float       # portrait's own inner-lip gap in pixels (median)
    bite: float = 1.0     # how far down the opening the portrait's upper teeth reach (0..1)
    shows_teeth: bool = False   # the portrait's own opening shows teeth (taken as their colour)
    grey: bool = False          # a black-and-white portrait: the painted inside stays grey too


def mouth_look(image: np.ndarray, pts: np.ndarray, skin_rgb: np.ndarray) -> MouthLook:
    """Sample lip and teeth colours from the portrait."""
    import cv2

    h, w = image.shape[:2]
    lip_pts = pts[L.LOWER_LIP_OUTER[2:-2] + L.UPPER_LIP_OUTER[3:-3], :2]
    inner = pts[L.LOWER_LIP_INNER[2:-2] + L.UPPER_LIP_INNER[2:-2], :2]
    # halfway between outer and inner contours lies lip tissue
    n = min(len(lip_pts), len(inner))
    mid = ((lip_pts[:n] + inner[:n]) / 2).astype(int)
    mid[:, 0] = mid[:, 0].clip(0, w - 1)
    mid[:, 1] = mid[:, 1].clip(0, h - 1)
    lip = np.median(image[mid[:, 1], mid[:, 0]].astype(np.float32), axis=0)
    lum = float(np.clip(np.mean(skin_rgb) / 170.0, 0.3, 1.35))
    xs = np.linspace(pts[78, 0], pts[308, 0], 24)
    gap = float(np.median(_lip_curve(pts, LOWER_INNER, xs) - _lip_curve(pts, UPPER_INNER, xs)))
    grey = image.ndim == 2 or np.ptp(image[..., :3].reshape(-1, 3)[::97].astype(int), axis=1).max() < 8
    teeth = np.array([222, 214, 200], np.float32) * min(lum, 1.1)
    if grey:   # a black-and-white photo: ivory teeth would be the only colour in it
        teeth = np.full(3, teeth.mean(), np.float32)
    lit = float(teeth.mean())
    shows_teeth = False
    if gap > 2:
        m = _poly_mask(smooth_contour(pts[L.LIPS_INNER, :2]), 0, 0, w, h) > 0.9
        if m.sum() > 8:
            px = image[m].astype(np.float32)
            bright = px.sum(1)
            sel = px[bright >= np.percentile(bright, 70)]
            cand = np.median(sel, axis=0)
            # use the portrait's teeth only if they are light and not lip-coloured
            if cand.mean() > 0.95 * np.mean(skin_rgb) and (cand.max() - cand.min()) < 50:
                # teeth seen in a slightly parted mouth lie in the lips' shadow: opened,
                # they catch the light, so keep their tint but lift them to 90 % of lit teeth
                # (lp_s1's shadowed teeth drew a grey, denture-like row)
                teeth = np.clip(cand * max(1.0, 0.9 * lit / max(float(cand.mean()), 1.0)), 0, 255)
                shows_teeth = True
    _ = cv2
    bite = _bite_fraction(image, pts, xs) if gap > 2 else 1.0
    return MouthLook(lip=lip, teeth=teeth, lum=lum, rest_gap=gap, bite=bite, shows_teeth=shows_teeth,
                     grey=bool(grey))


def paint_mouth(frame: np.ndarray, dst: np.ndarray, src: np.ndarray, scale: float,
                look: MouthLook, tongue: float = 0.0,
                rest_image: np.ndarray | None = None, rounding: float = 0.0) -> None:
    """Paint the interior in place. dst/src: (478, 2) moved/rest landmarks.

    Opening wider than the portrait: a cavity shaded darker towards the back
    and the corners, upper teeth hanging from the upper lip (their own
    texture when the portrait shows teeth), lower teeth when wide open, and
    a tongue. Closing a portrait's open mouth: the squeezed teeth are
    covered by the shadowed seam where the lips meet.
    """
    inner_t = smooth_contour(dst[L.LIPS_INNER, :2])
    inner_s = smooth_contour(src[L.LIPS_INNER, :2])
    area_t = _area(inner_t)
    area_s = _area(inner_s)
    h, w = frame.shape[:2]
    x0 = int(max(0, np.floor(inner_t[:, 0].min()) - 2))
    x1 = int(min(w, np.ceil(inner_t[:, 0].max()) + 3))
    y0 = int(max(0, np.floor(inner_t[:, 1].min()) - 3))
    y1 = int(min(h, np.ceil(inner_t[:, 1].max()) + 4))
    if x1 - x0 < 3 or y1 - y0 < 2:
        return
    bw, bh = x1 - x0, y1 - y0
    xs = np.arange(x0, x1) + 0.5
    ys = (np.arange(y0, y1) + 0.5)[:, None]
    up_idx, lo_idx = UPPER_INNER, LOWER_INNER
    top = _lip_curve(dst, up_idx, xs)[None, :]
    bot = _lip_curve(dst, lo_idx, xs)[None, :]
    gap = bot - top
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    if area_t < area_s * 0.8 and look.rest_gap > 1.5:
        # closing: a portrait's own teeth are covered by lip tissue with a thin
        # dark line where the lips meet (a dark band over them read as a grey gum
        # shield); a dark opening without teeth closes to a soft dark seam
        mid = (top + bot) / 2
        d = np.abs(ys - mid)
        inside = (xs[None, :] > dst[78, 0] + 1) & (xs[None, :] < dst[308, 0] - 1)
        if look.shows_teeth:
            half = np.maximum(np.abs(gap) / 2, 0) + 1.8
            a = np.clip((half - d) / 0.8, 0, 1) * inside
            line = 1 - 0.5 * np.exp(-(d / np.maximum(0.25 * half, 0.7)) ** 2)
            seam = look.lip[None, None] * (0.82 * line)[..., None]
        else:
            half = np.maximum(np.abs(gap) / 2, 0) + 1.2
            a = np.clip(1.0 - d / half, 0, 1) ** 0.7 * inside
            seam = look.lip * 0.55
        frame[y0:y1, x0:x1] = np.clip(roi * (1 - a[..., None]) + seam * a[..., None], 0, 255).astype(np.uint8)
        return
    if area_t < 0.0015 * scale ** 2 or area_t <= area_s * 1.05:
        return
    mask = _poly_mask(inner_t, x0, y0, bw, bh)
    gap = np.maximum(gap, 1e-3)
    cx = (dst[78, 0] + dst[308, 0]) / 2
    half = max(abs(dst[308, 0] - dst[78, 0]) / 2, 1.0)
    across = np.clip(np.abs(xs[None, :] - cx) / half, 0, 1)   # 0 centre .. 1 corner
    v = np.clip((ys - top) / gap, 0, 1)                         # 0 upper lip .. 1 lower lip
    lum = look.lum

    # cavity: the lip colour in deep shadow, darkest in the middle and corners
    cavity = look.lip * 0.3 + np.array([12, 5, 6], np.float32) * lum
    shade = (0.6 + 0.4 * np.abs(2 * v - 1) ** 2) * (1 - 0.4 * across ** 2)
    img = cavity[None, None, :] * shade[..., None]

    # tongue: a rounded mound rising from the lower lip, higher when shown
    t_top = bot - gap * (0.48 + 0.4 * tongue)   # the resting tongue shows above the lower teeth when wide open
    t_w = 0.75 - 0.15 * tongue
    t_edge = t_top + (bot - t_top) * np.clip(across / t_w, 0, 1) ** 2
    t_mask = np.clip((ys - t_edge) / np.maximum(gap * 0.08, 0.8), 0, 1) * (across < t_w)
    tongue_rgb = look.lip * 0.7 + np.array([45, 20, 22], np.float32) * lum
    t_shade = 0.6 + 0.4 * np.clip((ys - t_top) / np.maximum(bot - t_top, 1), 0, 1) ** 0.5
    img = img * (1 - t_mask[..., None]) + tongue_rgb * (t_shade * t_mask)[..., None] * (1 - 0.35 * across[..., None])

    # teeth: upper row hangs from the upper lip, lower row shows when wide open
    mouth_w = 2 * half
    # rounded lips (an "O") push forward over the teeth: less of them shows
    hide = float(np.clip(rounding, 0, 1)) * TEETH_HIDDEN_BY_ROUNDING
    # visible crowns measured on real talking footage (KatieHill, MEAD): the
    # upper incisors show up to ~0.075 eye-corner distances below the lip,
    # the lower ones up to ~0.055 above theirs; speech parts the lips more
    # than the teeth, so both rows show once the opening passes their sum
    tooth_h = min(UPPER_CROWN * scale, 0.55 * float(np.max(gap))) * (1 - hide)
    inc_w = 0.13 * mouth_w                                     # central incisor width
    bounds = np.cumsum([0, 1.0, 0.8, 0.72, 0.7, 0.66, 0.62]) * inc_w
    dxs = np.abs(xs[None, :] - cx)
    k = np.clip(np.searchsorted(bounds, dxs[0]) - 1, 0, len(bounds) - 2)
    u = (dxs[0] - bounds[k]) / np.maximum(bounds[k + 1] - bounds[k], 1e-3)      # 0..1 across a tooth
    edge_drop = tooth_h * (1 - 0.12 * k) * (1 - 0.08 * (2 * u - 1) ** 4)    # rounded biting edges
    up_bottom = top + edge_drop[None, :]
    up_m = np.clip(up_bottom - ys + 0.5, 0, 1) * np.clip(1.0 - across ** 6, 0, 1)
    sep = 1 - 0.1 * np.exp(-((u - 0.0) * (bounds[k + 1] - bounds[k])) ** 2 / 1.2)[None, :]
    vert = 0.78 + 0.22 * np.clip((ys - top) / max(tooth_h, 1e-3), 0, 1) ** 0.6
    t_shade = (1 - 0.55 * across ** 2) * sep * vert
    teeth = look.teeth[None, None] * t_shade[..., None]
    img = img * (1 - up_m[..., None]) + teeth * up_m[..., None]
    # lower row: rides on the lower lip; the teeth part by about 45 % of the
    # lips' opening, so it shows where the opening exceeds that plus the upper crowns
    low_h = np.clip(0.55 * gap - edge_drop[None, :], 0, LOWER_CROWN * scale) * (1 - hide)
    # (the lower incisors are narrower and the lip hides the side teeth: the row
    # fades out towards the corners, with the gaps between teeth drawn deeper)
    lo_m = np.clip(ys - (bot - low_h) + 0.5, 0, 1) * (low_h > 0.8) * np.clip(1 - (across / 0.7) ** 4, 0, 1)
    lo_vert = 1.0 - 0.22 * np.clip((ys - (bot - low_h)) / np.maximum(low_h, 1e-3), 0, 1)   # lit edge, lip shadow below
    lo_sep = 1 - 0.14 * np.exp(-(u * (bounds[k + 1] - bounds[k]) * 1.25) ** 2 / 1.2)[None, :]
    lo_teeth = look.teeth[None, None] * ((1 - 0.6 * across ** 2) * lo_sep * lo_vert * 0.92)[..., None]
    img = img * (1 - lo_m[..., None]) + lo_teeth * lo_m[..., None]

    if rest_image is not None and look.rest_gap > 0.02 * scale:
        img = _reuse_rest_mouth(img, rest_image, dst, src, xs, ys, look.bite)
    if look.grey:
        img = np.repeat(img.mean(-1, keepdims=True), 3, axis=-1)
    # the lips cast a thin shadow on the inside
    rim = np.clip(np.minimum(ys - top, bot - ys) / 1.5, 0, 1)
    img = img * (0.7 + 0.3 * rim[..., None])
    band = np.clip(ys - top + 1.0, 0, 1) * np.clip(bot - ys + 1.0, 0, 1)
    alpha = (mask * band)[..., None]
    frame[y0:y1, x0:x1] = np.clip(roi * (1 - alpha) + img * alpha, 0, 255).astype(np.uint8)


def _reuse_rest_mouth(img: np.ndarray, rest: np.ndarray, dst: np.ndarray, src: np.ndarray,
                      xs: np.ndarray, ys: np.ndarray, bite: float) -> np.ndarray:
    """Carry the rest opening's upper teeth with the upper lip, its lower row with the lower.

    Each output column samples the rest image at the column the lip moved
    from, and the upper/lower limits are read at that source column too: with
    a turned head the lips shift sideways, and limits read at the output
    column would cut the teeth on a slant and pull in the lip's edge.
    """
    import cv2

    up_idx, lo_idx = UPPER_INNER, LOWER_INNER
    left, right = src[78, 0] + 1.0, src[308, 0] - 1.0
    out = img.copy()
    for part, idx in enumerate((up_idx, lo_idx)):
        d = dst[idx, :2] - src[idx, :2]
        order = np.argsort(dst[idx, 0])
        dx = np.interp(xs, dst[idx, 0][order], d[order, 0])
        dy = np.interp(xs, dst[idx, 0][order], d[order, 1])
        col = xs - dx                                              # source column of each output column
        top_s, bot_s = _lip_curve(src, up_idx, col), _lip_curve(src, lo_idx, col)
        split = top_s + (bot_s - top_s) * bite
        # the upper part stops short of the lower lip: the lip's own edge row
        # would otherwise ride up with the teeth as a thin line in the cavity
        lo, hi = (top_s, np.minimum(split, bot_s - 1.5)) if part == 0 else (split, bot_s)
        sx = np.repeat(col.astype(np.float32)[None, :] - np.float32(0.5), len(ys), axis=0)
        sy = (ys - dy[None, :]).astype(np.float32)
        valid = (sy >= lo[None, :] - 0.5) & (sy <= hi[None, :] + 0.5) & ((col > left) & (col < right))[None, :]
        sample = cv2.remap(rest, sx, sy - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        np.copyto(out, sample, where=valid[..., None])
    return out


def _bite_fraction(rest: np.ndarray, pts: np.ndarray, xs: np.ndarray) -> float:
    """How far down the portrait's opening its upper teeth reach (0 upper lip .. 1 lower lip).

    Upper teeth are fixed to the skull, so when the jaw drops they stay with
    the upper lip; only a lower row, if the portrait shows one, rides down
    with the lip. The two rows are told apart by a dark bite line with
    bright teeth above and below it, read from the opening's brightness
    profile over its middle columns (averaging hides the gaps between single
    teeth). Without such a valley everything visible is taken as upper teeth.
    """
    import cv2

    h, w = rest.shape[:2]
    lum = rest[..., :3].astype(np.float32).mean(-1) if rest.ndim == 3 else rest.astype(np.float32)
    top = _lip_curve(pts, UPPER_INNER, xs)
    gap = np.maximum(_lip_curve(pts, LOWER_INNER, xs) - top, 0.0)
    half = max((xs[-1] - xs[0]) / 2, 1.0)
    mid_cols = np.abs(xs - (xs[0] + xs[-1]) / 2) < 0.6 * half
    if mid_cols.sum() < 2:
        return 1.0
    fr = np.linspace(0.1, 0.95, 18)
    yy = top[None, mid_cols] + gap[None, mid_cols] * fr[:, None]
    xx = np.broadcast_to(np.clip(xs[mid_cols] - 0.5, 0, w - 1)[None, :], yy.shape).astype(np.float32)
    prof = cv2.remap(lum, xx, np.clip(yy - 0.5, 0, h - 1).astype(np.float32), cv2.INTER_LINEAR).mean(1)
    best, depth = 1.0, 20.0
    for i in range(2, len(fr) - 2):
        d = min(prof[:i].max(), prof[i + 1:].max()) - prof[i]
        if d > depth:
            best, depth = float(fr[i]), d
    return best


def smooth_contour(poly: np.ndarray, per_edge: int = 4) -> np.ndarray:
    """Closed Catmull-Rom resampling so the opening has no polygon corners."""
    p = np.asarray(poly, np.float64)
    p0, p1, p2, p3 = np.roll(p, 1, 0), p, np.roll(p, -1, 0), np.roll(p, -2, 0)
    t = (np.arange(per_edge) / per_edge)[None, :, None]
    out = 0.5 * (2 * p1[:, None] + (-p0 + p2)[:, None] * t
                 + (2 * p0 - 5 * p1 + 4 * p2 - p3)[:, None] * t ** 2
                 + (-p0 + 3 * p1 - 3 * p2 + p3)[:, None] * t ** 3)
    return out.reshape(-1, 2)


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)
