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

import numpy as np

from core.face import landmarks as L

SS = 4  # sub-pixel precision for polygon filling (cv2 shift bits = 2)


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


def paint_mouth(frame: np.ndarray, dst: np.ndarray, src: np.ndarray, scale: float,
                skin_rgb: np.ndarray, tongue: float = 0.0,
                rest_image: np.ndarray | None = None) -> None:
    """Paint the interior in place. dst/src: (478, 2) moved/rest landmarks.

    With ``rest_image`` and a portrait whose lips are parted, the visible
    teeth are reused: the upper half of the rest opening travels with the
    upper lip, the lower half with the lower lip, and only the gap that
    opens between them is painted.
    """
    inner_t = smooth_contour(dst[L.LIPS_INNER, :2])
    inner_s = src[L.LIPS_INNER, :2]
    area_t = _area(inner_t)
    area_s = _area(inner_s)
    if area_t < 0.0015 * scale ** 2 or area_t <= area_s * 1.05:
        return
    fresh = 1.0  # always paint: a stretched rest interior looks torn
    h, w = frame.shape[:2]
    x0 = int(max(0, np.floor(inner_t[:, 0].min()) - 2))
    x1 = int(min(w, np.ceil(inner_t[:, 0].max()) + 3))
    y0 = int(max(0, np.floor(inner_t[:, 1].min()) - 2))
    y1 = int(min(h, np.ceil(inner_t[:, 1].max()) + 3))
    if x1 - x0 < 3 or y1 - y0 < 2:
        return
    bw, bh = x1 - x0, y1 - y0
    mask = _poly_mask(inner_t, x0, y0, bw, bh)
    xs = np.arange(x0, x1) + 0.5
    ys = (np.arange(y0, y1) + 0.5)[:, None]
    top = _lip_curve(dst, [78] + L.UPPER_LIP_INNER + [308], xs)[None, :]
    bot = _lip_curve(dst, [78] + L.LOWER_LIP_INNER + [308], xs)[None, :]
    gap = np.maximum(bot - top, 1e-3)
    cx = (dst[78, 0] + dst[308, 0]) / 2
    half = max(abs(dst[308, 0] - dst[78, 0]) / 2, 1.0)
    across = np.clip(np.abs(xs[None, :] - cx) / half, 0, 1)   # 0 centre .. 1 corner
    depth = 1 - np.abs((ys - top) / gap * 2 - 1)               # 1 mid-cavity, 0 at lips

    lum = float(np.clip(skin_rgb.mean() / 180.0, 0.35, 1.3))
    cavity = np.array([105, 38, 42], np.float32) * lum
    shade = (0.45 + 0.55 * (1 - depth) ** 0.8) * (1 - 0.35 * across)
    img = cavity[None, None, :] * shade[..., None]

    # tongue: a rounded mound rising from the lower lip
    t_h = gap * (0.28 + 0.35 * tongue)
    t_mask = np.clip((ys - (bot - t_h)) / np.maximum(t_h * 0.35, 1), 0, 1)
    t_mask *= np.clip(1 - across ** 2 * 1.3, 0, 1)
    tongue_rgb = np.array([150, 62, 66], np.float32) * lum
    t_shade = 0.55 + 0.45 * np.clip((ys - (bot - t_h)) / np.maximum(t_h, 1), 0, 1)
    img = img * (1 - t_mask[..., None]) + (tongue_rgb * 0.85)[None, None] * (t_shade * t_mask)[..., None]

    # teeth: upper row hangs from the upper lip, lower row shows when wide open
    if rest_image is not None and np.median(
            _lip_curve(src, [78] + L.LOWER_LIP_INNER + [308], xs)
            - _lip_curve(src, [78] + L.UPPER_LIP_INNER + [308], xs)) > 0.02 * scale:
        tooth_h = 0.0  # the portrait's own teeth are reused below
    tooth_h = 0.06 * scale
    teeth_rgb = np.array([205, 198, 186], np.float32) * min(lum, 1.05)
    up_m = np.clip((top + tooth_h - ys) / 1.2, 0, 1) * (ys >= top - 1) * (tooth_h > 0)
    low_h = np.clip((gap - 0.16 * scale) * 0.5, 0, 0.04 * scale) * (tooth_h > 0)
    lo_m = np.clip((ys - (bot - low_h)) / 1.2, 0, 1) * (low_h > 0.5)
    edge = 1 - across ** 3
    t_shade = (0.62 + 0.38 * edge) * (0.8 + 0.2 * np.clip((top + tooth_h - ys) / max(tooth_h, 1e-3), 0, 1))
    gaps = 0.88 + 0.12 * np.abs(np.cos((xs[None, :] - cx) / (0.06 * scale) * np.pi))
    teeth = teeth_rgb[None, None] * (t_shade * gaps)[..., None]
    img = img * (1 - up_m[..., None]) + teeth * up_m[..., None]
    img = img * (1 - lo_m[..., None]) + teeth * 0.85 * lo_m[..., None]

    rest_gap = float(np.median(_lip_curve(src, [78] + L.LOWER_LIP_INNER + [308], xs)
                               - _lip_curve(src, [78] + L.UPPER_LIP_INNER + [308], xs)))
    if rest_image is not None and rest_gap > 0.02 * scale:
        img = _reuse_rest_mouth(img, rest_image, dst, src, xs, ys, x0, y0)
    alpha = (mask * fresh)[..., None]
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(roi * (1 - alpha) + img * alpha, 0, 255).astype(np.uint8)


def _reuse_rest_mouth(img: np.ndarray, rest: np.ndarray, dst: np.ndarray, src: np.ndarray,
                      xs: np.ndarray, ys: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Carry the rest opening's upper half with the upper lip, lower with the lower."""
    import cv2

    up_idx = [78] + L.UPPER_LIP_INNER + [308]
    lo_idx = [78] + L.LOWER_LIP_INNER + [308]
    top_s, bot_s = _lip_curve(src, up_idx, xs), _lip_curve(src, lo_idx, xs)
    out = img.copy()
    for idx, lo_bound, hi_bound in ((up_idx, top_s, (top_s + bot_s) / 2),
                                    (lo_idx, (top_s + bot_s) / 2, bot_s)):
        d = dst[idx, :2] - src[idx, :2]
        order = np.argsort(dst[idx, 0])
        dx = np.interp(xs, dst[idx, 0][order], d[order, 0])
        dy = np.interp(xs, dst[idx, 0][order], d[order, 1])
        sx = np.broadcast_to(xs[None, :] - dx[None, :], (len(ys), len(xs))).astype(np.float32) - 0.5
        sy = (ys - dy[None, :]).astype(np.float32) - 0.5
        valid = (sy + 0.5 >= lo_bound[None, :] - 0.5) & (sy + 0.5 <= hi_bound[None, :] + 0.5)
        sample = cv2.remap(rest, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        out[valid] = sample[valid]
    return out


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
