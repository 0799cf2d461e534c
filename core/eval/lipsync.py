"""Lip-sync yardsticks: mouth opening per frame and how well it follows a reference.

The reference is either the real speaker's mouth (``--gt``), the audio's
loudness envelope, or the aligned bilabial phones (p/b/m must close the lips).
All functions work on plain per-frame arrays so they can be proven on
synthetic curves with a known answer.
"""

from __future__ import annotations

import numpy as np

from core.tracks import Alignment

UPPER_INNER, LOWER_INNER = 13, 14        # inner-lip midpoints (mediapipe FaceMesh)
EYE_OUTER_R, EYE_OUTER_L = 33, 263       # outer eye corners: scale reference
BILABIALS = {"P", "B", "M"}
CLOSED_SHARE = 0.2                       # "closed" = gap below 20% of the 90th-percentile gap


def mouth_opening(landmarks_seq: np.ndarray) -> np.ndarray:
    """Per-frame inner-lip gap over the outer eye-corner distance; NaN where no face."""
    pts = np.asarray(landmarks_seq, np.float64)
    if pts.ndim == 2:
        pts = pts[None]
    gap = np.linalg.norm(pts[:, UPPER_INNER, :2] - pts[:, LOWER_INNER, :2], axis=-1)
    eyes = np.linalg.norm(pts[:, EYE_OUTER_R, :2] - pts[:, EYE_OUTER_L, :2], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = gap / np.where(eyes > 1e-6, eyes, np.nan)
    return out.astype(np.float64)


SPREAD_PCT = (5.0, 95.0)


def opening_spread(opening: np.ndarray) -> float:
    """5th-95th percentile range of the mouth opening: how wide the mouth moves, blinks of the
    tracker and single odd frames aside. NaN with fewer than 3 finite frames."""
    x = np.asarray(opening, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 3:
        return float("nan")
    lo, hi = np.percentile(x, SPREAD_PCT)
    return float(hi - lo)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the pairs where both are finite; NaN if < 3 pairs or no variance."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    if den <= 1e-12:
        return float("nan")
    return float(np.clip((x * y).sum() / den, -1.0, 1.0))


def lagged_corr(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """r of a[t + lag] against b[t]: a positive lag means ``a`` happens later than ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if abs(lag) >= n:
        return float("nan")
    if lag >= 0:
        return pearson(a[lag:], b[:n - lag])
    return pearson(a[:n + lag], b[-lag:])


def best_lag_corr(a: np.ndarray, b: np.ndarray, max_lag: int = 2) -> tuple[float, int]:
    """Highest Pearson r of ``a`` vs ``b`` over integer lags in [-max_lag, max_lag].

    Positive lag = ``a`` is late relative to ``b``. Ties go to the smaller
    |lag|. Returns (nan, 0) when no lag has enough finite pairs.
    """
    best_r, best_lag = float("nan"), 0
    for lag in sorted(range(-int(max_lag), int(max_lag) + 1), key=lambda k: (abs(k), k)):
        r = lagged_corr(a, b, lag)
        if np.isfinite(r) and (not np.isfinite(best_r) or r > best_r + 1e-12):
            best_r, best_lag = r, lag
    return best_r, best_lag


def loudness_envelope(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of the audio inside each video frame's time span [i/fps, (i+1)/fps)."""
    x = np.asarray(samples, np.float32)
    out = np.full(n_frames, np.nan)
    for i in range(n_frames):
        a, b = int(round(i / fps * sample_rate)), int(round((i + 1) / fps * sample_rate))
        seg = x[a:b]
        if seg.size:
            out[i] = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
    return out


def bilabial_closure(opening: np.ndarray, alignment: Alignment | None, fps: float,
                     share: float = CLOSED_SHARE) -> tuple[float | None, int | None]:
    """Fraction of aligned p/b/m phones whose smallest lip gap inside the phone is "closed".

    Closed = below ``share`` of the video's own 90th-percentile gap. Returns
    (None, None) without an alignment, (None, 0) when it holds no bilabials.
    """
    if alignment is None:
        return None, None
    op = np.asarray(opening, np.float64)
    finite = op[np.isfinite(op)]
    phones = [p for p in alignment.phones if p.label.upper().rstrip("012") in BILABIALS]
    if not phones or finite.size == 0:
        return None, 0
    thr = share * float(np.percentile(finite, 90))
    closed = counted = 0
    for p in phones:
        a = max(0, int(np.floor(p.start * fps)))
        b = min(len(op), max(a + 1, int(np.ceil(p.end * fps))))
        seg = op[a:b]
        seg = seg[np.isfinite(seg)]
        if seg.size == 0:
            continue
        counted += 1
        closed += int(seg.min() < thr)
    if counted == 0:
        return None, 0
    return closed / counted, counted
