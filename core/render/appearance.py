"""Expression appearance: folds and wrinkles multiplied into the portrait's skin.

A warp moves pixels but creates no cheek bulge, nasolabial fold, crow's
feet, glabella furrow or forehead lines, and those are what a viewer reads
an expression from. The shipped data (``data/expression_ratios.npz``,
built by ``tools/build_expression_ratios.py`` from MEAD actors) holds, per
learned unit ``expr_<emotion>``, the band-limited log-luminance ratio of
the actors' expression to their neutral face in the face-mesh texture
space (``texture_space.py``) and the landmark displacement of that
expression. The maps are laid once onto the portrait's rest landmarks; per
frame each map's strength comes from the unit weights, the weighted sum is
warped with the same field as the face and multiplied into the crop, so
the folds move with the skin and keep the portrait's colours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.units import UNIT_NAMES

DATA_DIR = Path(__file__).resolve().parent / "data"
RATIOS = DATA_DIR / "expression_ratios.npz"
MANIFEST = DATA_DIR / "expression_ratios.json"
# Overall strength of the shipped maps at a driver of 1. The maps keep only
# what both actors agree on, at the weaker one's strength, so they are
# fainter than either actor: at 1.0 happy read on 3 of 4 dev portraits,
# at 1.6 on 4 of 4 with identity up to 0.48 (docs/emotion.md).
GAIN = 1.5
MAX_DRIVER = 1.5
# Darkening (folds) may go to x0.64; brightening stops at x1.25: a map undone
# over a specular cheek (a grinning photo made sad) otherwise burns a white,
# bluish spot into it.
LOG_RATIO_RANGE = (-0.45, 0.22)
MIN_DRIVER = 0.02


@dataclass
class RatioMaps:
    """The shipped maps: per component a texture-space log ratio and the units that drive it."""

    side: int
    points: np.ndarray                  # (468, 2) canonical landmark layout
    triangles: np.ndarray               # (M, 3)
    maps: dict[str, np.ndarray]         # component -> (side, side) float32 log ratio
    units: dict[str, dict[str, float]]  # component -> unit -> prototype amplitude
    shapes: dict[str, np.ndarray]       # emotion -> (478, 2) displacement, eye-fixed face frame
    onsets: dict[str, float] = field(default_factory=dict)   # crease component -> driver below which it is off


@lru_cache(maxsize=1)
def load_ratio_maps() -> RatioMaps:
    """Read the maps after checking their sha256 against the manifest (a mismatch is an error)."""
    from core.models import verified_file

    try:
        meta = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        from core.errors import UserInputError

        raise UserInputError("the expression appearance manifest is missing.", MANIFEST,
                             "Reinstall SynchroRaMa Studio.") from None
    path = verified_file(RATIOS, str(meta.get("sha256", "")), "expression appearance maps")
    with np.load(path, allow_pickle=False) as z:
        maps = {c: z[f"map_{c}"].astype(np.float32) for c in meta["components"]}
        points, triangles = z["points"].astype(np.float32), z["triangles"].astype(np.int32)
        shapes = {e: z[f"shape_{e}"].astype(np.float32) for e in meta.get("shapes", [])}
    units = {c: {u: float(a) for u, a in spec["units"].items()} for c, spec in meta["components"].items()}
    from core.render.creases import DRIVERS, crease_maps

    onsets = {}
    for name, image in crease_maps(points, int(meta["side"])).items():
        maps[name] = image.astype(np.float32)
        units[name], onsets[name] = dict(DRIVERS[name][0]), DRIVERS[name][1]
    return RatioMaps(int(meta["side"]), points, triangles, maps, units, shapes, onsets)


def expression_fields(fields: np.ndarray) -> np.ndarray:
    """Unit fields (U, 478, 2, face-frame units) with the learned whole-face shapes filled in.

    The ``expr_<emotion>`` units have no hand-built geometry: their
    displacement is the actors' measured one (tools/build_expression_ratios.py).
    """
    out = fields.copy()
    for emo, shape in load_ratio_maps().shapes.items():
        name = f"expr_{emo}"
        if name in UNIT_NAMES:
            out[UNIT_NAMES.index(name)] = shape[: out.shape[1]]
    return out


class ExpressionAppearance:
    """The ratio maps laid onto one portrait; ``apply`` shades a rendered crop in place."""

    def __init__(self, rest_points: np.ndarray, size: int, gain: float | None = None,
                 maps: RatioMaps | None = None):
        import cv2

        from core.render.texture_space import barycentric_map, triangle_index

        rm = maps or load_ratio_maps()
        self.names = list(rm.maps)
        self.gain = float(GAIN if gain is None else gain)
        pts = np.asarray(rest_points, np.float64)[:468, :2]
        lo = np.floor(pts.min(0)).astype(int) - 2
        hi = np.ceil(pts.max(0)).astype(int) + 3
        self.box = (max(0, lo[0]), max(0, lo[1]), min(size, hi[0]), min(size, hi[1]))
        x0, y0, x1, y1 = self.box
        idx = triangle_index(pts - [x0, y0], rm.triangles, (y1 - y0, x1 - x0))
        mx, my, cov = barycentric_map(pts - [x0, y0], rm.triangles, idx, rm.points)
        self.maps = np.stack([
            cv2.remap(rm.maps[c], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            * cov for c in self.names]).astype(np.float32)
        # driver of component k = projection of the unit weights on its prototype
        self.proj = np.zeros((len(self.names), len(UNIT_NAMES)), np.float32)
        for k, c in enumerate(self.names):
            amp = rm.units[c]
            norm = sum(a * a for a in amp.values()) or 1.0
            for u, a in amp.items():
                if u in UNIT_NAMES:
                    self.proj[k, UNIT_NAMES.index(u)] = a / norm
        onset = np.array([rm.onsets.get(c, -1.0) for c in self.names], np.float32)
        self._ramped = np.flatnonzero(onset >= 0)   # creases (learned maps have none: they may go negative)
        self._onset = onset[self._ramped]
        self.size = size
        self._gain_img = np.ones((size, size), np.float32)

    def scale_unit(self, unit: str, factor: float) -> None:
        """Scale the maps a unit drives (the renderer's identity guard uses this)."""
        k = UNIT_NAMES.index(unit)
        for j in np.nonzero(self.proj[:, k])[0]:
            self.maps[j] *= factor

    def drivers(self, weights: np.ndarray) -> np.ndarray:
        """Per-map strength (-1..MAX_DRIVER) for one frame's unit weights (negative: undone)."""
        w = np.asarray(weights, np.float32)[: self.proj.shape[1]]
        d = self.proj[:, : len(w)] @ w
        # creases: nothing below the onset, full at a driver of 1
        d[self._ramped] = np.clip((d[self._ramped] - self._onset) / (1.0 - self._onset), 0.0, None)
        return np.clip(d, -1.0, MAX_DRIVER)

    def log_ratio(self, weights: np.ndarray) -> np.ndarray | None:
        """The combined log ratio over the rest face box, or None when nothing is expressed."""
        d = self.drivers(weights) * self.gain
        on = np.nonzero(np.abs(d) > MIN_DRIVER)[0]
        if len(on) == 0:
            return None
        out = self.maps[on[0]] * d[on[0]]
        for k in on[1:]:
            out += self.maps[k] * d[k]
        return out

    def apply(self, out: np.ndarray, fx: np.ndarray, fy: np.ndarray, weights: np.ndarray,
              region: tuple[int, int, int, int]) -> None:
        """Shade ``out`` (the warped crop) in place inside ``region`` (x0, y0, x1, y1).

        ``fx, fy`` are the crop's remap maps (output pixel -> rest pixel), so
        the ratio follows the skin exactly as the face was warped.
        """
        import cv2

        lr = self.log_ratio(weights)
        if lr is None:
            return
        x0, y0, x1, y1 = self.box
        g = self._gain_img
        g[y0:y1, x0:x1] = np.exp(np.clip(lr, *LOG_RATIO_RANGE))
        rx0, ry0, rx1, ry1 = region
        if rx1 <= rx0 or ry1 <= ry0:
            g[y0:y1, x0:x1] = 1.0
            return
        # the gain is smooth (band-limited maps): warp it at half resolution
        # and let a bilinear resize restore the size (a third of the cost)
        half = cv2.remap(g, fx[ry0:ry1:2, rx0:rx1:2], fy[ry0:ry1:2, rx0:rx1:2], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
        gain = cv2.resize(half, (rx1 - rx0, ry1 - ry0), interpolation=cv2.INTER_LINEAR)
        roi = out[ry0:ry1, rx0:rx1]
        roi[:] = cv2.multiply(roi, cv2.merge([gain, gain, gain]), dtype=cv2.CV_8U)
        g[y0:y1, x0:x1] = 1.0
