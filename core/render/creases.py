"""Skin creases drawn where the face folds: glabella furrows and forehead lines.

The learned ratio maps (appearance.py) are medians over two actors, kept
only where both agree and band-limited, so the sharp folds of a frown or of
raised brows average out to faint blurs: next to real footage our anger had
smooth skin between the brows and our surprise a smooth forehead. These
folds sit in the same place on every face, so they are drawn here
procedurally in the same texture space, placed by the canonical landmarks,
and driven by the FACS units that make them (AU4 -> the vertical "11"
furrows between the brows and the fold at the nose root; AU1/AU2 and the
learned surprised/fearful faces -> horizontal forehead lines following the
brows' arch). A crease is a narrow dark valley with a softer lit bulge
beside it, as skin folded under a light from above looks.
"""

from __future__ import annotations

import numpy as np

# depth of a crease's valley (log luminance) and of the bulge beside it, at a driver of 1
VALLEY = 0.32
BULGE = 0.07
SIGMA = 1.3          # valley half-width, texture pixels (the face is ~160 px wide there)
BULGE_SIGMA = 3.0
BULGE_OFFSET = 3.5   # bulge centre from the valley, texture pixels
OVERSAMPLE = 4

# canonical face-mesh indices: upper edge of each brow (outer -> inner), inner brow ends
UPPER_BROW_R = [70, 63, 105, 66, 107]
UPPER_BROW_L = [300, 293, 334, 296, 336]
INNER_BROW_LOW = (55, 285)
INNER_BROW_HIGH = (107, 336)
NOSE_ROOT = 168
FOREHEAD_TOP = 10

# component -> (the unit that makes it and the unit weight that draws it fully,
# the share of that weight below which nothing shows). The onset keeps the
# small brow offsets that only undo a photo's own expression (a sad-looking
# photo made happy gets ~0.35 of brow_lower) from drawing a frown's furrows:
# on lp_s2 they turned a happy reading into sad.
DRIVERS: dict[str, tuple[dict[str, float], float]] = {
    "crease_glabella": ({"brow_lower": 1.0}, 0.5),
    "crease_forehead_surprised": ({"expr_surprised": 1.0 / 0.8}, 0.0),
    "crease_forehead_fearful": ({"expr_fearful": 1.0 / 0.5}, 0.0),
}


def _profile(side: int, lines: list[np.ndarray], bulge_shift: np.ndarray,
             taper: list[np.ndarray]) -> np.ndarray:
    """Log-ratio image of creases along ``lines`` (each (K, 2) texture px, with a per-point taper 0..1).

    Each stroke is worked out only in its own box, at OVERSAMPLE x the texture's resolution.
    """
    import cv2

    big = side * OVERSAMPLE
    out = np.zeros((big, big), np.float32)
    for pts, w in zip(lines, taper):
        for shift, depth, sigma in ((np.zeros(2), -VALLEY, SIGMA), (bulge_shift, BULGE, BULGE_SIGMA)):
            p = np.round((pts + shift) * OVERSAMPLE).astype(np.int32)
            margin = int(5 * sigma * OVERSAMPLE)
            x0, y0 = np.maximum(p.min(0) - margin, 0)
            x1, y1 = np.minimum(p.max(0) + margin + 1, big)
            q = p - [x0, y0]
            canvas = np.full((y1 - y0, x1 - x0), 255, np.uint8)
            cv2.polylines(canvas, [q], False, 0, 1, cv2.LINE_8)
            d = cv2.distanceTransform(canvas, cv2.DIST_L2, 5) / OVERSAMPLE
            # taper along the line: a thick stroke of the local weight, softened
            weight = np.zeros_like(d)
            thick = int(8 * sigma * OVERSAMPLE) | 1
            for a, b, wa, wb in zip(q[:-1], q[1:], w[:-1], w[1:]):
                cv2.line(weight, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), float((wa + wb) / 2), thick)
            weight = cv2.GaussianBlur(weight, (0, 0), sigma * OVERSAMPLE)
            out[y0:y1, x0:x1] += depth * np.exp(-0.5 * (d / sigma) ** 2) * weight
    return cv2.resize(out, (side, side), interpolation=cv2.INTER_AREA)


def _brow_arch(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the upper brow edge across the face (right brow, gap, left brow), sorted by x."""
    idx = UPPER_BROW_R + UPPER_BROW_L
    xy = points[idx]
    order = np.argsort(xy[:, 0])
    return xy[order, 0], xy[order, 1]


def crease_maps(points: np.ndarray, side: int) -> dict[str, np.ndarray]:
    """Texture-space log-ratio maps of each crease component (canonical ``points``, (468, 2))."""
    pts = np.asarray(points, np.float64)
    mid = float(pts[NOSE_ROOT, 0])
    lo_r, lo_l = pts[INNER_BROW_LOW[0]], pts[INNER_BROW_LOW[1]]
    hi_r, hi_l = pts[INNER_BROW_HIGH[0]], pts[INNER_BROW_HIGH[1]]
    gap = float(abs(lo_l[0] - lo_r[0]))
    out: dict[str, np.ndarray] = {}

    # the "11": two furrows a sixth of the inner-brow gap either side of the midline,
    # from the brows' upper edge to a little below their lower edge, leaning in at the foot
    top = float(min(hi_r[1], hi_l[1])) - 0.05 * gap
    foot = float(max(lo_r[1], lo_l[1])) + 0.15 * gap
    furrows, tapers = [], []
    for side_sign in (-1.0, 1.0):
        x_top, x_foot = mid + side_sign * 0.2 * gap, mid + side_sign * 0.13 * gap
        ys = np.linspace(top, foot, 9)
        xs = np.linspace(x_top, x_foot, 9)
        furrows.append(np.stack([xs, ys], 1))
        tapers.append(np.sin(np.linspace(0.15, 0.85, 9) * np.pi) ** 0.7)
    # the short fold across the nose root, fainter
    root_y = float(pts[NOSE_ROOT, 1]) - 0.1 * gap
    xs = np.linspace(mid - 0.22 * gap, mid + 0.22 * gap, 7)
    furrows.append(np.stack([xs, np.full_like(xs, root_y)], 1))
    tapers.append(0.45 * np.sin(np.linspace(0.1, 0.9, 7) * np.pi))
    # bulge: towards the midline for the furrows (the procerus bunches between them)
    glabella = _profile(side, furrows[:1], np.array([0.6 * BULGE_OFFSET, 0.0]), tapers[:1])
    glabella += _profile(side, furrows[1:2], np.array([-0.6 * BULGE_OFFSET, 0.0]), tapers[1:2])
    glabella += _profile(side, furrows[2:], np.array([0.0, -BULGE_OFFSET]), tapers[2:])
    out["crease_glabella"] = glabella

    # forehead lines: three arcs following the brows' arch, spaced up to the hairline
    bx, by = _brow_arch(pts)
    height = float(np.median(by)) - float(pts[FOREHEAD_TOP, 1])
    x0, x1 = float(bx[0]) + 0.12 * (bx[-1] - bx[0]), float(bx[-1]) - 0.12 * (bx[-1] - bx[0])
    xs = np.linspace(x0, x1, 25)
    arch = np.interp(xs, bx, by)
    arch = np.convolve(np.pad(arch, 3, mode="edge"), np.ones(7) / 7, "valid")   # one smooth arc
    span = (xs - mid) / max((x1 - x0) / 2, 1e-6)          # -1 .. 1 across the forehead
    full_w = np.clip((1 - np.abs(span)) * 4, 0, 1)
    lines = [np.stack([xs, arch - f * height], 1) for f in (0.3, 0.52, 0.72)]
    fade = (1.0, 0.8, 0.55)
    below = np.array([0.0, BULGE_OFFSET])
    full = _profile(side, lines, below, [full_w * f for f in fade])
    out["crease_forehead_surprised"] = full
    out["crease_forehead_fearful"] = full.copy()
    return out
