"""Motion statistics from per-frame landmarks: head pose spread, blinks, jitter, frozen frames.

Head pose is the rotation that best maps a reference face (the video's own
median shape over rigid points: forehead, nose bridge, eye corners,
temples) onto each frame's 3-D landmarks (Kabsch with scale). mediapipe's
z is scaled like x, so the fit is a proper 3-D rotation; since only the
spread (std) is reported, a per-video reference is as good as a canonical
face and needs no extra model.
"""

from __future__ import annotations

import numpy as np

from core.face.landmarks import eye_aspect_ratio

RIGID = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 130, 359,
         234, 454, 127, 356, 93, 323, 54, 284, 21, 251, 103, 332, 67, 297]
BLINK_CLOSE = 0.55   # eye counts as shut below this share of its own open level
BLINK_REOPEN = 0.75  # ...and as open again above this share (hysteresis)
JITTER_SIGMA = 2.0   # frames: the smooth trajectory jitter is measured against
FROZEN_LEVELS = 3    # a pixel "changed" when its grey level moved by more than this
FROZEN_SHARE = 1e-4  # a frame repeats the last when fewer pixels than this share changed
STILL_STEP = 0.002   # landmarks "still" when they move less than this share of the eye distance
SPEED_SIGMA = 2.0    # frames: head angles are smoothed this much before their speed is taken


def _valid(points: np.ndarray) -> np.ndarray:
    return np.isfinite(points[:, 0, 0])


def _kabsch(ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rotation R with x ~ s * ref @ R.T (both centred, (k, 3))."""
    h = ref.T @ x
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def head_angles(points: np.ndarray) -> np.ndarray:
    """(n, 3) yaw, pitch, roll in degrees relative to the video's median face; NaN rows where no face."""
    out = np.full((len(points), 3), np.nan)
    ok = _valid(points)
    if not ok.any():
        return out
    p = points[:, RIGID, :].astype(np.float64)
    c = p - p.mean(axis=1, keepdims=True)
    scale = np.sqrt((c[ok] ** 2).sum(axis=(1, 2)))[:, None, None]
    ref = np.median(c[ok] / scale, axis=0)
    for i in np.flatnonzero(ok):
        r = _kabsch(ref, c[i])
        yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
        pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        out[i] = (yaw, pitch, roll)
    return out


def eye_openness(points: np.ndarray) -> np.ndarray:
    """Mean eye aspect ratio per frame (NaN where no face)."""
    out = np.full(len(points), np.nan)
    for i in np.flatnonzero(_valid(points)):
        out[i] = eye_aspect_ratio(points[i])
    return out


def count_blinks(ear: np.ndarray) -> int:
    """Closings: the EAR falls below BLINK_CLOSE of the video's open level, then recovers.

    The open level is the 90th percentile of the video's own EAR, so narrow
    and wide eyes are judged alike.
    """
    e = np.asarray(ear, np.float64)
    fin = e[np.isfinite(e)]
    if fin.size < 3:
        return 0
    level = float(np.percentile(fin, 90))
    if level <= 1e-6:
        return 0
    shut, n = False, 0
    for v in e:
        if not np.isfinite(v):
            continue
        if not shut and v < BLINK_CLOSE * level:
            shut, n = True, n + 1
        elif shut and v > BLINK_REOPEN * level:
            shut = False
    return n


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i))
            start = None
    return runs


def jitter(points: np.ndarray, sigma: float = JITTER_SIGMA) -> float:
    """Mean frame-to-frame motion of the landmarks' high-frequency part / inter-ocular distance.

    The smooth trajectory (Gaussian, ``sigma`` frames) is removed first so
    that real head and mouth motion do not count; what is left is tremble.
    """
    from scipy.ndimage import gaussian_filter1d

    vals, weights = [], []
    for a, b in _runs(_valid(points)):
        if b - a < 5:
            continue
        p = points[a:b, :, :2].astype(np.float64)
        resid = p - gaussian_filter1d(p, sigma, axis=0, mode="nearest")
        step = np.linalg.norm(np.diff(resid, axis=0), axis=-1).mean(axis=1)
        iod = np.linalg.norm(p[1:, 33] - p[1:, 263], axis=-1)
        vals.append(float(np.mean(step / np.maximum(iod, 1e-6))))
        weights.append(b - a - 1)
    if not vals:
        return float("nan")
    return float(np.average(vals, weights=weights))


def still_fraction(points: np.ndarray, step: float = STILL_STEP) -> float:
    """Share of consecutive frame pairs whose face-mesh points barely move.

    The mean displacement of the 468 mesh points between two frames, over
    the outer eye-corner distance, below ``step`` (0.2 %) counts as a still
    pair: a face that freezes in a pause. Pairs where either frame has no
    face are left out. Measured on real footage: HDTF 0 %, MEAD neutral
    readings 4-5 %; lp_d10 27 % (its video repeats frames).
    """
    p = np.asarray(points, np.float64)
    if len(p) < 2:
        return 0.0
    d = np.linalg.norm(np.diff(p[:, :468, :2], axis=0), axis=-1).mean(axis=1)
    iod = np.linalg.norm(p[1:, 33, :2] - p[1:, 263, :2], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = d / np.where(iod > 1e-6, iod, np.nan)
    x = x[np.isfinite(x)]
    return float(np.mean(x < step)) if x.size else 0.0


def head_speed(angles: np.ndarray, fps: float, sigma: float = SPEED_SIGMA) -> tuple[float, float, float]:
    """Mean angular speed (deg/s) of yaw, pitch, roll: the tempo of the head motion.

    The landmark fit trembles by a fraction of a degree per frame, which
    alone would read as 5-10 deg/s on a still head; smoothing over
    ``sigma`` frames first keeps the motion and drops most of the tremble.
    """
    from scipy.ndimage import gaussian_filter1d

    out = []
    for col in range(3):
        vals, weights = [], []
        for a, b in _runs(np.isfinite(angles[:, col])):
            if b - a < 5:
                continue
            x = gaussian_filter1d(angles[a:b, col].astype(np.float64), sigma, mode="nearest")
            vals.append(float(np.mean(np.abs(np.diff(x)))) * fps)
            weights.append(b - a - 1)
        out.append(float(np.average(vals, weights=weights)) if vals else float("nan"))
    return out[0], out[1], out[2]


class FrozenCounter:
    """Streams frames; counts those that repeat the previous one (grey, long side 256 px).

    Measured: re-encoded still frames differ by exactly 0; the quietest
    frame pairs of the real dev clips still change 0.035% (lp_d10) and 21%
    (HDTF) of their pixels by more than 3 levels, a mesh render with only
    the lips moving 1.3%.
    """

    def __init__(self, levels: int = FROZEN_LEVELS, share: float = FROZEN_SHARE):
        self.levels, self.share = levels, share
        self._prev: np.ndarray | None = None
        self.frozen = 0
        self.pairs = 0

    def add(self, rgb: np.ndarray) -> None:
        import cv2

        g = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        h, w = g.shape
        s = min(1.0, 256 / max(h, w))
        if s < 1:
            g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        g = g.astype(np.int16)
        if self._prev is not None:
            self.pairs += 1
            if float((np.abs(g - self._prev) > self.levels).mean()) < self.share:
                self.frozen += 1
        self._prev = g

    @property
    def fraction(self) -> float:
        return self.frozen / self.pairs if self.pairs else 0.0


def angle_std(angles: np.ndarray) -> tuple[float, float, float]:
    ok = np.isfinite(angles[:, 0])
    if ok.sum() < 2:
        return 0.0, 0.0, 0.0
    s = angles[ok].std(axis=0)
    return float(s[0]), float(s[1]), float(s[2])
