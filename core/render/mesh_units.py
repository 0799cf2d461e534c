"""Expression units as displacement fields over the 478-point face mesh.

Each unit is defined in a canonical frontal frame fixed by the eyes (x along
the outer eye corners, y down, 1 unit = outer-eye-corner distance) by a few
*driver* landmarks that move and *pinned* landmarks that must not; every
other landmark within reach relaxes to the harmonic (membrane) interpolation
on the mesh graph, which neither overshoots nor folds across a pinned row. Fields are
built once per portrait (so they are scaled to that face, and rig-specific
units such as blink close that person's own eye opening), then combined
linearly with weights clamped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.face import landmarks as L
from core.units import UNIT_NAMES

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
N_MESH = 468


@dataclass
class Frame:
    """Canonical frame of one face: origin between the outer eye corners."""

    origin: np.ndarray  # (2,)
    axes: np.ndarray    # (2, 2): rows are x and y axes in image space
    scale: float        # pixels per canonical unit

    def to_canon(self, pts: np.ndarray) -> np.ndarray:
        return (pts[:, :2] - self.origin) @ self.axes.T / self.scale

def face_frame(pts: np.ndarray) -> Frame:
    r, l_ = pts[33, :2], pts[263, :2]
    x = l_ - r
    scale = float(np.linalg.norm(x))
    x = x / scale
    y = np.array([-x[1], x[0]])
    return Frame(origin=(r + l_) / 2, axes=np.stack([x, y]), scale=scale)


def mesh_edges(canon: np.ndarray) -> np.ndarray:
    """Unique edges (E, 2) of the rest triangulation of the face-mesh points."""
    from scipy.spatial import Delaunay

    tri = Delaunay(canon[:N_MESH]).simplices
    e = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0)


class Spreader:
    """Spread driver displacements over the mesh as a membrane (harmonic) field.

    Drivers are held at their displacement, pinned points and every point
    farther than ``radius`` from all drivers at zero, and the rest relax to
    the harmonic interpolation on the mesh graph. Unlike a Gaussian blur of
    the drivers this never overshoots and respects pinned barriers: skin
    under a pinned eye does not move when the brow above it rises, so
    triangles do not fold.
    """

    def __init__(self, canon: np.ndarray):
        from scipy import sparse

        self.c = canon[:N_MESH]
        e = mesh_edges(canon)
        w = 1.0 / np.maximum(((self.c[e[:, 0]] - self.c[e[:, 1]]) ** 2).sum(1), 1e-6)
        n = len(self.c)
        W = sparse.coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
        self.L = (sparse.diags(np.asarray(W.sum(1)).ravel()) - W).tocsr()

    def __call__(self, drivers: dict[int, np.ndarray], pinned: set[int], radius: float) -> np.ndarray:
        from scipy.sparse.linalg import spsolve

        n = len(self.c)
        idx = np.array(sorted(drivers), int)
        val = np.array([drivers[i] for i in idx], np.float64)
        dist = np.sqrt(((self.c[:, None, :] - self.c[None, idx, :]) ** 2).sum(-1)).min(1)
        fixed = np.zeros(n, bool)
        fixed[dist > radius] = True
        fixed[[i for i in pinned if i < n]] = True
        fixed[idx] = True
        vals = np.zeros((n, 2))
        vals[idx] = val
        free = np.flatnonzero(~fixed)
        if len(free):
            A = self.L[free][:, free].tocsc()
            b = -self.L[free][:, np.flatnonzero(fixed)] @ vals[fixed]
            vals[free] = np.column_stack([spsolve(A, b[:, 0]), spsolve(A, b[:, 1])])
        return vals


def _lip_sets():
    upper = set(L.UPPER_LIP_OUTER + L.UPPER_LIP_INNER) - {61, 291, 78, 308}
    lower = set(L.LOWER_LIP_OUTER + L.LOWER_LIP_INNER) - {61, 291, 78, 308}
    return upper, lower


class _Face:
    """One portrait's face in the canonical frame, and the helpers every unit builder uses."""

    def __init__(self, pts: np.ndarray):
        self.frame = face_frame(pts)
        c = self.c = self.frame.to_canon(pts)
        self.n = len(pts)
        self.spread = Spreader(c)
        self.upper, self.lower = _lip_sets()
        self.mouth_c = (c[13] + c[14]) / 2
        self.half_w = abs(c[291, 0] - c[61, 0]) / 2
        self.g = max(c[14, 1] - c[13, 1], 0.0)   # the portrait's own lip gap (>0: mouth open)
        self.above_nose = {i for i in range(N_MESH) if c[i, 1] < c[2, 1] - 0.02}
        self.lips = L.LIPS_OUTER + L.LIPS_INNER
        self.up_idx = [78] + L.UPPER_LIP_INNER + [308]
        self.lo_idx = [78] + L.LOWER_LIP_INNER + [308]
        self.ou, self.ol = np.argsort(c[self.up_idx, 0]), np.argsort(c[self.lo_idx, 0])
        self.built: dict[str, np.ndarray] = {}

    def unit(self, name: str) -> np.ndarray:
        """The unit's raw field, built once (eye_blink reuses the winks)."""
        if name not in self.built:
            self.built[name] = UNIT_BUILDERS[name](self)
        return self.built[name]

    def field(self, drv: dict[int, np.ndarray], pinned: set[int], radius: float) -> np.ndarray:
        """Drivers moved, pinned points held, the mesh around relaxed (Spreader)."""
        out = np.zeros((self.n, 2))
        out[:N_MESH] = self.spread(drv, pinned, radius)
        return out

    def to_mid(self, i: int, frac: float = 1.0, extra: float = 0.0) -> np.ndarray:
        """Move an inner-lip point towards the line where the lips meet (its own local gap)."""
        c = self.c
        x = c[i, 0]
        top = np.interp(x, c[self.up_idx, 0][self.ou], c[self.up_idx, 1][self.ou])
        bot = np.interp(x, c[self.lo_idx, 0][self.ol], c[self.lo_idx, 1][self.ol])
        mid = (top + bot) / 2
        dy = (mid - c[i, 1]) * frac
        return np.array([0.0, dy + np.sign(mid - c[i, 1]) * extra])

    def t_of(self, i: int) -> float:
        """0 at the mouth centre, 1 at a corner."""
        return min(abs(self.c[i, 0] - self.mouth_c[0]) / self.half_w, 1.0)

    def lids(self, up_amt: float, low_amt: float) -> dict[int, np.ndarray]:
        """Lid moves scaled by this person's own eye opening."""
        c, d = self.c, {}
        for pairs in (EYE_PAIRS_R, EYE_PAIRS_L):
            for u, lo in pairs:
                gap = c[lo, 1] - c[u, 1]
                d[u] = np.array([0.0, gap * up_amt])
                d[lo] = np.array([0.0, -gap * low_amt])
        return d

    def corners(self, dx: float, dy: float, sides=(61, 291)) -> dict[int, np.ndarray]:
        """Lip points moved out (dx) and up/down (dy), most at the corners; (61,) = one side."""
        c, d = self.c, {}
        for i in self.lips:
            if sides == (61,) and c[i, 0] > self.mouth_c[0]:
                continue
            t = self.t_of(i) ** 2
            d[i] = np.array([np.sign(c[i, 0] - self.mouth_c[0]) * dx * t, dy * t])
        return d


# -- speech units ---------------------------------------------------------------------

def _jaw_drivers(f: _Face) -> dict[int, np.ndarray]:
    """The jaw turns about hinges below the ears; seen from the front the chin and lower
    lip drop together as one piece and the drop fades out along the jawline towards the
    hinges (no rubbery chin)."""
    c, m = f.c, f.mouth_c
    jaw_x = max(abs(c[172, 0] - m[0]), abs(c[397, 0] - m[0]), f.half_w * 1.2)
    jaw = {}
    lower_face = [i for i in range(N_MESH) if c[i, 1] > m[1] + 0.02 and i not in f.upper]
    for i in lower_face + sorted(f.lower):
        u = np.clip((abs(c[i, 0] - m[0]) - 0.5 * f.half_w) / (jaw_x - 0.5 * f.half_w), 0, 1)
        jaw[i] = np.array([0.0, 0.16 * (1 - 0.8 * u * u * (3 - 2 * u))])
    for i in f.lower:
        jaw[i] = np.array([0.0, 0.16 * (1 - 0.3 * f.t_of(i) ** 2)])
    return jaw


def _jaw_open(f: _Face) -> np.ndarray:
    return f.field(_jaw_drivers(f), f.upper | f.above_nose | EYE_RING, 0.9)


def _lip_round(f: _Face) -> np.ndarray:
    """Lips gather towards the centre and part a little."""
    drv = {i: np.array([-(f.c[i, 0] - f.mouth_c[0]) * 0.3, 0.0]) for i in f.lips}
    for i in L.UPPER_LIP_INNER:
        drv[i] = drv[i] + [0, -0.012]
    for i in L.LOWER_LIP_INNER:
        drv[i] = drv[i] + [0, 0.03]
    for i in L.LOWER_LIP_OUTER:
        drv[i] = drv[i] + [0, 0.012]
    return f.field(drv, f.above_nose | EYE_RING, 0.45)


def _lip_stretch(f: _Face) -> np.ndarray:
    """Corners pulled sideways, lips thin against the teeth."""
    drv = {i: np.array([np.sign(f.c[i, 0] - f.mouth_c[0]) * 0.075 * f.t_of(i), 0.0]) for i in f.lips}
    for i in L.LOWER_LIP_INNER:
        drv[i] = drv[i] + [0, 0.012 * (1 - f.t_of(i))]
    return f.field(drv, f.above_nose | EYE_RING, 0.45)


def _lip_close(f: _Face) -> np.ndarray:
    """Shut the portrait's own rest gap and press a little."""
    drv = {i: f.to_mid(i, 0.97) for i in L.UPPER_LIP_INNER + L.LOWER_LIP_INNER}
    drv.update({i: np.array([0.0, f.g * 0.2]) for i in f.upper & set(L.UPPER_LIP_OUTER)})
    drv.update({i: np.array([0.0, -f.g * 0.4]) for i in L.LOWER_LIP_OUTER})
    return f.field(drv, f.above_nose | EYE_RING, 0.4)


def _labiodental(f: _Face) -> np.ndarray:
    """f/v: the lower lip rolls up under the upper teeth, the upper lip lifts."""
    drv = {i: f.to_mid(i, 1.2) + [0.0, -0.02 * (1 - f.t_of(i))] for i in L.LOWER_LIP_INNER}
    drv.update({i: np.array([0.0, -f.g * 0.4 - 0.008]) for i in L.LOWER_LIP_OUTER})
    drv.update({i: np.array([0.0, -0.022 * (1 - f.t_of(i) ** 2)])
                for i in L.UPPER_LIP_INNER + L.UPPER_LIP_OUTER[1:-1]})
    return f.field(drv, f.above_nose | EYE_RING, 0.4)


def _tongue_show(f: _Face) -> np.ndarray:
    """A small opening; the mouth painter draws the tongue tip."""
    drv = {i: v * (0.055 / 0.16) for i, v in _jaw_drivers(f).items()}
    return f.field(drv, f.upper | f.above_nose | EYE_RING, 0.9)


# -- brows (the forehead follows, the eyes stay) ---------------------------------------

BROW_MIDDLE = (105, 334, 52, 282)


def _brow_inner_up(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, -0.07]) for i in INNER_BROW_R + INNER_BROW_L}
    drv.update({i: np.array([0.0, -0.03]) for i in BROW_MIDDLE})
    return f.field(drv, EYE_RING, 0.45)


def _brow_outer_up(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, -0.065]) for i in OUTER_BROW_R + OUTER_BROW_L}
    drv.update({i: np.array([0.0, -0.03]) for i in BROW_MIDDLE})
    return f.field(drv, EYE_RING, 0.45)


def _brow_lower(f: _Face) -> np.ndarray:
    """The brows come down and together, the inner ends most (the oblique "V" of a
    frown; a level drop read as a tired face, not anger)."""
    brows = L.RIGHT_BROW + L.LEFT_BROW
    bx = np.abs(f.c[brows, 0])
    reach = (bx - bx.min()) / max(float(bx.max() - bx.min()), 1e-6)   # 0 inner end .. 1 outer end
    drv = {i: np.array([-np.sign(f.c[i, 0]) * 0.04 * (1 - 0.5 * t), 0.075 - 0.048 * t])
           for i, t in zip(brows, reach)}
    return f.field(drv, EYE_RING, 0.4)


# -- eyes ---------------------------------------------------------------------------------

def _wink(side: str):
    """One eye closes: the upper lid comes down to a hair above the (slightly raised)
    lower lid; the skin rings above it follow less, so the lid's own skin unfolds over
    the eye; the lash line ends at the bottom. The other eye stays open."""
    pairs, lower_lid, ring2, ring3, other = {
        "right": (EYE_PAIRS_R, LOWER_LID_R, LID_RING2_R, LID_RING3_R, EYE_PAIRS_L),
        "left": (EYE_PAIRS_L, LOWER_LID_L, LID_RING2_L, LID_RING3_L, EYE_PAIRS_R)}[side]

    def build(f: _Face) -> np.ndarray:
        c, blink = f.c, {}
        order = np.argsort(c[lower_lid, 0])
        lx, ly = c[lower_lid, 0][order], c[lower_lid, 1][order]
        gap = float(np.mean([c[lo, 1] - c[u, 1] for u, lo in pairs]))
        for u, lo in pairs:
            blink[lo] = np.array([0.0, -0.12 * gap])
        for i in (lower_lid[-2], lower_lid[-1]):  # the corners stay
            blink[i] = np.array([0.0, 0.0])
        for ring, share, margin in (([u for u, _ in pairs], 1.0, 0.16), (ring2, 0.8, 0.16), (ring3, 0.3, 0.16)):
            for i in ring:
                closed_y = np.interp(c[i, 0], lx, ly) - margin * gap
                blink[i] = np.array([0.0, max(closed_y - c[i, 1], 0.0) * share])
        still = {i for pair in other for i in pair}
        return f.field(blink, still, 0.25)

    return build


def _eye_blink(f: _Face) -> np.ndarray:
    """Both winks: a blink plus a wink never closes one eye twice (see mesh._eased)."""
    return f.unit("wink_right") + f.unit("wink_left")


def _upper_lid_raise(f: _Face) -> np.ndarray:
    c = f.c
    widen = {u: np.array([0.0, -(c[lo, 1] - c[u, 1]) * 0.3]) for p in (EYE_PAIRS_R, EYE_PAIRS_L) for u, lo in p}
    return f.field(widen, set(LOWER_LID_R + LOWER_LID_L), 0.25)


# -- cheeks and nose ----------------------------------------------------------------------

def _cheek_raise(f: _Face) -> np.ndarray:
    c = f.c
    drv = {i: np.array([0.0, -0.045]) for i in CHEEK_R + CHEEK_L}
    drv.update({lo: np.array([0.0, -(c[lo, 1] - c[u, 1]) * 0.22]) for p in (EYE_PAIRS_R, EYE_PAIRS_L) for u, lo in p})
    return f.field(drv, set(), 0.35)


def _nose_wrinkle(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, -0.035]) for i in NOSE_SIDES}
    drv.update({i: np.array([0.0, 0.025]) for i in INNER_BROW_R + INNER_BROW_L})
    drv.update({i: np.array([0.0, -0.012]) for i in L.UPPER_LIP_OUTER[2:-2]})
    return f.field(drv, EYE_RING, 0.3)


# -- upper lip, corners, chin -------------------------------------------------------------

def _upper_lip_raise(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, -0.055 * (1 - 0.7 * f.t_of(i) ** 2)]) for i in L.UPPER_LIP_OUTER + L.UPPER_LIP_INNER}
    return f.field(drv, f.lower | EYE_RING, 0.35)


def _lip_corner_pull(f: _Face) -> np.ndarray:
    drv = f.corners(0.07, -0.075)
    drv.update({i: np.array([np.sign(f.c[i, 0]) * 0.01, -0.02]) for i in CHEEK_R + CHEEK_L})
    return f.field(drv, EYE_RING, 0.45)


def _chin_raise(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, -0.04]) for i in CHIN}
    drv.update({i: np.array([0.0, -0.03]) for i in L.LOWER_LIP_OUTER})
    drv.update({i: f.to_mid(i, 0.6) + [0.0, -0.02] for i in L.LOWER_LIP_INNER})
    return f.field(drv, f.upper | EYE_RING | f.above_nose, 0.5)


def _lip_press(f: _Face) -> np.ndarray:
    drv = {i: np.array([0.0, 0.018]) for i in L.UPPER_LIP_OUTER[1:-1]}
    drv.update({i: np.array([0.0, -0.018]) for i in L.LOWER_LIP_OUTER})
    drv.update({i: f.to_mid(i, 0.97) for i in L.UPPER_LIP_INNER + L.LOWER_LIP_INNER})
    drv.update({i: np.array([np.sign(f.c[i, 0] - f.mouth_c[0]) * -0.01, 0.0]) for i in {61, 291, 78, 308}})
    return f.field(drv, f.above_nose | EYE_RING, 0.35)


# The geometric units, one small builder each. Units without a row (the learned
# expr_* units) stay zero here: core.render.appearance.expression_fields fills them.
UNIT_BUILDERS: dict[str, Callable[[_Face], np.ndarray]] = {
    "jaw_open": _jaw_open,
    "lip_round": _lip_round,
    "lip_stretch": _lip_stretch,
    "lip_close": _lip_close,
    "labiodental": _labiodental,
    "tongue_show": _tongue_show,
    "brow_inner_up": _brow_inner_up,
    "brow_outer_up": _brow_outer_up,
    "brow_lower": _brow_lower,
    "wink_right": _wink("right"),
    "wink_left": _wink("left"),
    "eye_blink": _eye_blink,
    "eye_squint": lambda f: f.field(f.lids(0.28, 0.3), set(), 0.25),
    "upper_lid_raise": _upper_lid_raise,
    "lid_tighten": lambda f: f.field(f.lids(0.08, 0.3), set(), 0.25),
    "cheek_raise": _cheek_raise,
    "nose_wrinkle": _nose_wrinkle,
    "upper_lip_raise": _upper_lip_raise,
    "lip_corner_pull": _lip_corner_pull,
    "lip_corner_depress": lambda f: f.field(f.corners(0.015, 0.065), EYE_RING, 0.45),
    "contempt_corner": lambda f: f.field(f.corners(0.05, -0.05, sides=(61,)), EYE_RING, 0.4),
    "chin_raise": _chin_raise,
    "lip_press": _lip_press,
}


def build_unit_fields(pts: np.ndarray) -> tuple[Frame, np.ndarray]:
    """Return the face frame and fields (U, 478, 2) in canonical units, one row per UNIT_NAMES."""
    f = _Face(pts)
    fields = {name: (f.unit(name) if name in UNIT_BUILDERS else np.zeros((f.n, 2))) for name in UNIT_NAMES}
    for name in UNIT_NAMES:
        if name == "upper_lid_raise":
            # the eyeball does not move when the lid lifts off it: the iris
            # stays and white shows above it (the surprised stare)
            fields[name][L.RIGHT_IRIS + L.LEFT_IRIS] = 0.0
            continue
        _irises_follow_lids(f.c, fields[name])
    stack = np.stack([fields[name] for name in UNIT_NAMES]).astype(np.float32)
    return f.frame, stack


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


# The jaw field parts the lips 0.16 eye widths at weight 1 on every portrait, while real
# talkers' openings reach 0.21-0.23 at their 95th percentile (a singer 0.28; docs/a2m.md).
# The top of the range is widened (w -> w (1 + g w^2)): open vowels near weight 1 open x1.4,
# consonant-level openings (0.1-0.4) move by at most 6 %, so the mouth does not sit wider
# between syllables.
JAW_TOP_GAIN = 0.4


def jaw_response(w: np.ndarray | float) -> np.ndarray | float:
    """The jaw field's weight for a jaw_open weight (the top of the range widened)."""
    return w * (1.0 + JAW_TOP_GAIN * np.square(np.clip(w, 0.0, None)))


def combine(fields: np.ndarray, weights: np.ndarray, jaw_index: int, close_index: int) -> np.ndarray:
    """Weighted sum of unit fields; lip closure suppresses jaw opening."""
    from core.units import clip_weights

    w = clip_weights(np.asarray(weights, np.float32).copy()[: fields.shape[0]], UNIT_NAMES[: fields.shape[0]])
    w[jaw_index] = jaw_response(w[jaw_index] * (1.0 - w[close_index]))
    return np.tensordot(w, fields, axes=1)
