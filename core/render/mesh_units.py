"""Expression units as displacement fields over the 478-point face mesh.

Each unit is defined in a canonical frontal frame fixed by the eyes (x along
the outer eye corners, y down, 1 unit = outer-eye-corner distance) by a few
*driver* landmarks that move and *pinned* landmarks that must not; every
other landmark follows the drivers with a Gaussian fall-off. Fields are
built once per portrait (so they are scaled to that face, and rig-specific
units such as blink close that person's own eye opening), then combined
linearly with weights clamped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.face import landmarks as L
from core.motion.units import UNIT_NAMES

EYE_PAIRS_R = [(246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155)]
EYE_PAIRS_L = [(466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382)]
# Rings of skin above each eye. mediapipe's upper-lid points sit low on the
# visible opening, so a closing lid must drag these rings down too, or the
# top of the eye would be pulled back into view over the closed lid.
LID_RING2_R = [247, 30, 29, 27, 28, 56, 190]
LID_RING3_R = [113, 225, 224, 223, 222, 221, 189]
LID_RING2_L = [467, 260, 259, 257, 258, 286, 414]
LID_RING3_L = [342, 445, 444, 443, 442, 441, 413]
LOWER_LID_R = [163, 144, 145, 153, 154, 155, 7, 33, 133]
LOWER_LID_L = [390, 373, 374, 380, 381, 382, 249, 263, 362]
CHEEK_R = [50, 101, 118, 117, 123, 116, 111, 100, 36, 205, 187]
CHEEK_L = [280, 330, 347, 346, 352, 345, 340, 329, 266, 425, 411]
NOSE_SIDES = [48, 64, 98, 240, 278, 294, 327, 460, 49, 279, 129, 358, 203, 423]
INNER_BROW_R, INNER_BROW_L = [107, 66, 55, 65], [336, 296, 285, 295]
OUTER_BROW_R, OUTER_BROW_L = [70, 63, 46, 53], [300, 293, 276, 283]
CHIN = [152, 148, 176, 149, 150, 377, 400, 378, 379, 175, 171, 396, 199, 200, 18, 32, 262, 83, 313]
IRISES = L.RIGHT_IRIS + L.LEFT_IRIS
EYE_RING = set(L.RIGHT_EYE + L.LEFT_EYE)


@dataclass
class Frame:
    """Canonical frame of one face: origin between the outer eye corners."""

    origin: np.ndarray  # (2,)
    axes: np.ndarray    # (2, 2): rows are x and y axes in image space
    scale: float        # pixels per canonical unit

    def to_canon(self, pts: np.ndarray) -> np.ndarray:
        return (pts[:, :2] - self.origin) @ self.axes.T / self.scale

    def vec_to_image(self, d: np.ndarray) -> np.ndarray:
        return d @ self.axes * self.scale


def face_frame(pts: np.ndarray) -> Frame:
    r, l_ = pts[33, :2], pts[263, :2]
    x = l_ - r
    scale = float(np.linalg.norm(x))
    x = x / scale
    y = np.array([-x[1], x[0]])
    return Frame(origin=(r + l_) / 2, axes=np.stack([x, y]), scale=scale)


def _falloff(canon: np.ndarray, drivers: dict[int, np.ndarray], pinned: set[int],
             sigma: float) -> np.ndarray:
    """Spread driver displacements to the whole mesh with Gaussian weights."""
    n = len(canon)
    d = np.zeros((n, 2), np.float64)
    idx = np.array(list(drivers), int)
    disp = np.array([drivers[i] for i in idx], np.float64)
    dist2 = ((canon[:, None, :] - canon[None, idx, :]) ** 2).sum(-1)
    k = np.exp(-dist2 / (2 * sigma ** 2))
    wsum = k.sum(1, keepdims=True)
    near = np.exp(-dist2.min(1) / (2 * sigma ** 2))
    d[:] = (k @ disp) / np.maximum(wsum, 1e-9) * near[:, None]
    d[idx] = disp
    if pinned:
        d[list(pinned - set(drivers))] = 0
    return d


def _lip_sets():
    upper = set(L.UPPER_LIP_OUTER + L.UPPER_LIP_INNER) - {61, 291, 78, 308}
    lower = set(L.LOWER_LIP_OUTER + L.LOWER_LIP_INNER) - {61, 291, 78, 308}
    return upper, lower


def build_unit_fields(pts: np.ndarray) -> tuple[Frame, np.ndarray]:
    """Return the face frame and fields (U, 478, 2) in canonical units."""
    f = face_frame(pts)
    c = f.to_canon(pts)
    n = len(pts)
    upper, lower = _lip_sets()
    mouth_c = (c[13] + c[14]) / 2
    half_w = abs(c[291, 0] - c[61, 0]) / 2
    rest_gap = c[14, 1] - c[13, 1]  # >0 when the portrait's mouth is open
    above_nose = {i for i in range(n) if c[i, 1] < c[2, 1] - 0.02}
    below_mouth = {i for i in range(n) if c[i, 1] > mouth_c[1] + 0.05}
    fields = {name: np.zeros((n, 2)) for name in UNIT_NAMES}

    def lips_toward_centre(amount: float) -> dict[int, np.ndarray]:
        return {i: np.array([-(c[i, 0] - mouth_c[0]) * amount, 0.0]) for i in L.LIPS_OUTER + L.LIPS_INNER}

    # jaw_open: lower lip, chin and jaw drop; upper face pinned
    drv = {i: np.array([0.0, 0.22]) for i in lower}
    drv.update({i: np.array([0.0, 0.16]) for i in CHIN})
    for i in (61, 291, 78, 308):
        drv[i] = np.array([-(c[i, 0] - mouth_c[0]) * 0.06, 0.11])
    for i in (136, 172, 58, 365, 397, 288):
        drv[i] = np.array([0.0, 0.07])
    fields["jaw_open"] = _falloff(c, drv, upper | above_nose | EYE_RING, 0.3)

    # lip_round: corners come in, lips push out and part a little
    drv = lips_toward_centre(0.32)
    for i in L.UPPER_LIP_INNER:
        drv[i] = drv[i] + [0, -0.025]
    for i in L.LOWER_LIP_INNER:
        drv[i] = drv[i] + [0, 0.035]
    fields["lip_round"] = _falloff(c, drv, above_nose | EYE_RING, 0.18)

    # lip_stretch: corners pulled sideways, lips thin
    drv = {i: np.array([(c[i, 0] - mouth_c[0]) / half_w * 0.09, 0.0]) for i in L.LIPS_OUTER + L.LIPS_INNER}
    fields["lip_stretch"] = _falloff(c, drv, above_nose | EYE_RING, 0.2)

    # lip_close: shut the portrait's own rest gap and press a little
    g = max(rest_gap, 0.0)
    drv = {i: np.array([0.0, g * 0.5 + 0.01]) for i in L.UPPER_LIP_INNER}
    drv.update({i: np.array([0.0, -g * 0.5 - 0.01]) for i in L.LOWER_LIP_INNER})
    drv.update({i: np.array([0.0, -g * 0.4]) for i in L.LOWER_LIP_OUTER})
    fields["lip_close"] = _falloff(c, drv, above_nose | EYE_RING, 0.12)

    # labiodental (f/v): lower lip up under the upper teeth, upper lip lifts
    drv = {i: np.array([0.0, -g * 0.6 - 0.03]) for i in L.LOWER_LIP_INNER}
    drv.update({i: np.array([0.0, -g * 0.3 - 0.01]) for i in L.LOWER_LIP_OUTER})
    drv.update({i: np.array([0.0, -0.02]) for i in L.UPPER_LIP_INNER})
    fields["labiodental"] = _falloff(c, drv, above_nose | EYE_RING, 0.12)

    # tongue_show: a small opening; the mouth renderer draws the tongue tip
    drv = {i: np.array([0.0, 0.07]) for i in lower}
    fields["tongue_show"] = _falloff(c, drv, upper | above_nose | EYE_RING, 0.25)

    # brows
    fields["brow_inner_up"] = _falloff(
        c, {i: np.array([0.0, -0.09]) for i in INNER_BROW_R + INNER_BROW_L}, EYE_RING | set(range(0, 0)), 0.22)
    fields["brow_outer_up"] = _falloff(
        c, {i: np.array([0.0, -0.08]) for i in OUTER_BROW_R + OUTER_BROW_L}, EYE_RING, 0.22)
    drv = {}
    for i in L.RIGHT_BROW + L.LEFT_BROW:
        drv[i] = np.array([-np.sign(c[i, 0]) * 0.035, 0.06])
    fields["brow_lower"] = _falloff(c, drv, EYE_RING, 0.2)

    # eyes
    def lids(up_amt: float, low_amt: float) -> dict[int, np.ndarray]:
        d = {}
        for pairs in (EYE_PAIRS_R, EYE_PAIRS_L):
            for u, lo in pairs:
                gap = c[lo, 1] - c[u, 1]
                d[u] = np.array([0.0, gap * up_amt])
                d[lo] = np.array([0.0, -gap * low_amt])
        return d

    # Blink: everything above the eye slides onto one closing line a little
    # above the lower lid, nearer points further, so rows never cross.
    blink = {}
    for pairs, lower_lid, ring2, ring3 in ((EYE_PAIRS_R, LOWER_LID_R, LID_RING2_R, LID_RING3_R),
                                           (EYE_PAIRS_L, LOWER_LID_L, LID_RING2_L, LID_RING3_L)):
        order = np.argsort(c[lower_lid, 0])
        lx, ly = c[lower_lid, 0][order], c[lower_lid, 1][order]
        gap = float(np.mean([c[lo, 1] - c[u, 1] for u, lo in pairs]))
        for u, lo in pairs:
            blink[lo] = np.array([0.0, -0.1 * gap])
        for ring, share in ([u for u, _ in pairs], 0.98), (ring2, 0.95), (ring3, 0.35):
            for i in ring:
                closed_y = np.interp(c[i, 0], lx, ly) - 0.1 * gap
                blink[i] = np.array([0.0, max(closed_y - c[i, 1], 0.0) * share])
    fields["eye_blink"] = _falloff(c, blink, set(), 0.08)
    fields["eye_squint"] = _falloff(c, lids(0.25, 0.35), set(), 0.1)
    widen = {u: np.array([0.0, -0.035]) for p in (EYE_PAIRS_R, EYE_PAIRS_L) for u, _ in p}
    fields["upper_lid_raise"] = _falloff(c, widen, set(LOWER_LID_R + LOWER_LID_L), 0.08)
    tight = {lo: np.array([0.0, -0.03]) for p in (EYE_PAIRS_R, EYE_PAIRS_L) for _, lo in p}
    fields["lid_tighten"] = _falloff(c, tight, set(), 0.08)

    # cheeks and nose
    drv = {i: np.array([0.0, -0.05]) for i in CHEEK_R + CHEEK_L}
    drv.update({lo: np.array([0.0, -0.025]) for p in (EYE_PAIRS_R, EYE_PAIRS_L) for _, lo in p})
    fields["cheek_raise"] = _falloff(c, drv, set(), 0.15)
    drv = {i: np.array([0.0, -0.04]) for i in NOSE_SIDES}
    drv.update({i: np.array([0.0, 0.025]) for i in INNER_BROW_R + INNER_BROW_L})
    fields["nose_wrinkle"] = _falloff(c, drv, EYE_RING, 0.1)

    # upper lip, corners, chin
    drv = {i: np.array([0.0, -0.07 * (1 - min(abs(c[i, 0] - mouth_c[0]) / half_w, 1) * 0.6)])
           for i in L.UPPER_LIP_OUTER + L.UPPER_LIP_INNER}
    fields["upper_lip_raise"] = _falloff(c, drv, lower | EYE_RING, 0.12)

    def corners(dx: float, dy: float, sides=(61, 291)) -> dict[int, np.ndarray]:
        d = {}
        for i in L.LIPS_OUTER + L.LIPS_INNER:
            if sides == (61,) and c[i, 0] > mouth_c[0]:
                continue
            t = min(abs(c[i, 0] - mouth_c[0]) / half_w, 1.0) ** 2
            d[i] = np.array([np.sign(c[i, 0] - mouth_c[0]) * dx * t, dy * t])
        return d

    fields["lip_corner_pull"] = _falloff(c, corners(0.09, -0.10), EYE_RING, 0.2)
    fields["lip_corner_depress"] = _falloff(c, corners(0.02, 0.08), EYE_RING, 0.2)
    fields["contempt_corner"] = _falloff(c, corners(0.06, -0.06, sides=(61,)), EYE_RING, 0.15)
    drv = {i: np.array([0.0, -0.05]) for i in CHIN}
    drv.update({i: np.array([0.0, -0.04]) for i in L.LOWER_LIP_OUTER})
    fields["chin_raise"] = _falloff(c, drv, upper | EYE_RING, 0.2)
    drv = {i: np.array([0.0, 0.025]) for i in L.UPPER_LIP_OUTER[1:-1]}
    drv.update({i: np.array([0.0, -0.025]) for i in L.LOWER_LIP_OUTER})
    drv.update({i: np.array([0.0, g * 0.5]) for i in L.UPPER_LIP_INNER})
    drv.update({i: np.array([0.0, -g * 0.5]) for i in L.LOWER_LIP_INNER})
    fields["lip_press"] = _falloff(c, drv, above_nose | EYE_RING, 0.12)

    for name in UNIT_NAMES:
        _irises_follow_lids(c, fields[name])
    stack = np.stack([fields[name] for name in UNIT_NAMES]).astype(np.float32)
    return f, stack


def _irises_follow_lids(c: np.ndarray, field: np.ndarray) -> None:
    """Iris points move with the lids in proportion to where they sit between them.

    Otherwise a closing lid would pass over fixed iris control points and the
    warp would pull the iris back out over the closed lid.
    """
    for iris, (up, lo) in ((L.RIGHT_IRIS, (159, 145)), (L.LEFT_IRIS, (386, 374))):
        span = c[lo, 1] - c[up, 1]
        if span <= 1e-6:
            continue
        t = np.clip((c[iris, 1] - c[up, 1]) / span, 0.0, 1.0)[:, None]
        field[iris] = (1 - t) * field[up] + t * field[lo]


def combine(fields: np.ndarray, weights: np.ndarray, jaw_index: int, close_index: int) -> np.ndarray:
    """Weighted sum of unit fields; lip closure suppresses jaw opening."""
    w = np.clip(weights, 0.0, 1.0).astype(np.float32).copy()
    w[jaw_index] *= 1.0 - w[close_index]
    return np.tensordot(w, fields, axes=1)
