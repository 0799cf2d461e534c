"""Edits on keyframed emotion curves (core.emotion.curves), free of Qt.

The curve editor turns mouse gestures into these calls; each returns a new
document dict so the result becomes one undoable ``curves`` edit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core.emotion.curves import RANGES, Channel, Curves, Key, parse_curves

EPS_T = 1e-3


def value_range(channel: str) -> tuple[float, float]:
    return RANGES.get(channel, (0.0, 1.0))


def to_curves(doc: dict) -> Curves:
    return parse_curves(doc) if doc and doc.get("channels") else Curves()


def to_doc(curves: Curves) -> dict:
    """{} when no channel has keys: the whole emotion follows the analysis."""
    curves.channels = {k: c for k, c in curves.channels.items() if c.keys}
    for c in curves.channels.values():
        c.keys.sort(key=lambda k: k.t)
    return curves.to_dict() if curves.channels else {}


def keys_of(curves: Curves, channel: str) -> list[Key]:
    ch = curves.channels.get(channel)
    return ch.keys if ch else []


def ensure(curves: Curves, channel: str) -> Channel:
    if channel not in curves.channels:
        curves.channels[channel] = Channel([])
    return curves.channels[channel]


def clamp(channel: str, v: float) -> float:
    lo, hi = value_range(channel)
    return float(np.clip(v, lo, hi))


def add_key(curves: Curves, channel: str, t: float, v: float, interp: str | None = None) -> Key:
    ch = ensure(curves, channel)
    t = max(0.0, float(t))
    for k in ch.keys:
        if abs(k.t - t) < EPS_T:
            k.v = clamp(channel, v)
            return k
    before = [k for k in ch.keys if k.t < t]
    key = Key(t, clamp(channel, v), interp or (before[-1].interp if before else "linear"))
    ch.keys.append(key)
    ch.keys.sort(key=lambda k: k.t)
    return key


def delete_keys(curves: Curves, channel: str, keys: list[Key]) -> None:
    ch = curves.channels.get(channel)
    if ch:
        ids = {id(k) for k in keys}
        ch.keys = [k for k in ch.keys if id(k) not in ids]


def set_interp(curves: Curves, channel: str, keys: list[Key], interp: str) -> None:
    """Bezier gets flat ease handles a third of the way to each neighbour, ready to drag."""
    allk = keys_of(curves, channel)
    for k in keys:
        k.interp = interp
        if interp == "bezier":
            i = allk.index(k)
            if i + 1 < len(allk):
                nxt = allk[i + 1]
                span = nxt.t - k.t
                if k.out_handle == (0.0, 0.0):
                    k.out_handle = (span / 3, 0.0)
                if nxt.in_handle == (0.0, 0.0):
                    nxt.in_handle = (-span / 3, 0.0)


@dataclass
class Clip:
    """Copied keys, times relative to the first."""

    keys: list[Key]


def copy_keys(keys: list[Key]) -> Clip | None:
    if not keys:
        return None
    t0 = min(k.t for k in keys)
    out = []
    for k in sorted(keys, key=lambda k: k.t):
        c = copy.deepcopy(k)
        c.t -= t0
        out.append(c)
    return Clip(out)


def paste_keys(curves: Curves, channel: str, clip: Clip, at: float) -> list[Key]:
    pasted = []
    for k in clip.keys:
        key = add_key(curves, channel, at + k.t, k.v, k.interp)
        key.in_handle, key.out_handle = k.in_handle, k.out_handle
        pasted.append(key)
    return pasted


def reset_range(curves: Curves, channel: str, t0: float, t1: float, guide_t: np.ndarray,
                guide_v: np.ndarray, tol: float = 0.02) -> None:
    """Make [t0, t1] follow the analysis again.

    Inside the range the keys are replaced by the analysed values, thinned
    to the fewest linear keys that stay within ``tol`` of them; when the
    range covers every key the channel is dropped, so it is exactly "auto".
    """
    ch = curves.channels.get(channel)
    if ch is None:
        return
    t0, t1 = min(t0, t1), max(t0, t1)
    outside = [k for k in ch.keys if k.t < t0 - EPS_T or k.t > t1 + EPS_T]
    if not outside:
        del curves.channels[channel]
        return
    m = (guide_t >= t0) & (guide_t <= t1)
    ts, vs = guide_t[m], guide_v[m]
    keep = _thin(ts, vs, tol)
    ch.keys = sorted(outside + [Key(float(ts[i]), clamp(channel, float(vs[i]))) for i in keep],
                     key=lambda k: k.t)


def _thin(t: np.ndarray, v: np.ndarray, tol: float) -> list[int]:
    """Ramer-Douglas-Peucker on a sampled curve: indices of the keys to keep."""
    if len(t) <= 2:
        return list(range(len(t)))
    keep = {0, len(t) - 1}
    stack = [(0, len(t) - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = v[a] + (v[b] - v[a]) * (t[a + 1:b] - t[a]) / max(t[b] - t[a], 1e-9)
        err = np.abs(v[a + 1:b] - seg)
        j = int(np.argmax(err))
        if err[j] > tol:
            m = a + 1 + j
            keep.add(m)
            stack += [(a, m), (m, b)]
    return sorted(keep)


def guide_values(track, channel: str) -> np.ndarray:
    """The analysed series for a channel, per frame."""
    if channel in ("valence", "arousal", "intensity"):
        return np.asarray(getattr(track, channel), np.float64)
    if channel in track.classes:
        return np.asarray(track.probs[:, list(track.classes).index(channel)], np.float64)
    return np.zeros(track.n_frames)
