"""Hand-set mouth shapes (the studio's mouth lane) on top of the automatic lip-sync.

The automatic mouth comes from the phones (core.motion.visemes); animators
think in a handful of mouth shapes instead (the Preston Blair set that
CrazyTalk and Cartoon Animator use). This module

- names those shapes and gives each the six speech-unit targets of a
  representative phone (``SHAPES``, ``shape_of_phone``),
- turns the phones into the automatic lane the studio draws
  (``automatic_spans``: consecutive phones with one shape merged),
- applies the user's keys (core.tracks.MouthKey) to a MotionTrack
  (``apply_mouth_keys``): inside a key's span the speech units take the
  key's shape times its strength ("auto" scales the automatic shape,
  "rest" closes the mouth), with short ramps at the edges so the mouth
  moves into and out of the shape instead of jumping. The keys are timed in
  narration time, and the lips lead the sound by the same ``LEAD_S`` as the
  automatic track.

``core.project.apply_project`` calls ``apply_mouth_keys`` after the motion is
built, so the studio's preview and export and ``synchrorama render
--project`` all render the same keys.
"""

from __future__ import annotations

import numpy as np

from core.errors import UserInputError
from core.motion.visemes import JAW_SCALE, LEAD_S, SPEECH_UNITS, target
from core.tracks import MouthKey, Phone

# shape -> (what it looks like, representative phone for its targets)
SHAPES: dict[str, tuple[str, str]] = {
    "auto": ("the automatic shape, only made stronger or weaker", ""),
    "rest": ("silence: lips together at rest", "SIL"),
    "AI": ("open: a, i (father, my)", "AA"),
    "E": ("spread: e, ee (bed, see)", "EH"),
    "O": ("round open: o (go, law)", "OW"),
    "U": ("round tight: oo, w (food, we)", "UW"),
    "MBP": ("closed: m, b, p", "M"),
    "FV": ("lower lip to teeth: f, v", "F"),
    "L": ("tongue: l, th", "L"),
    "etc": ("other consonants: s, t, k, n, r...", "S"),
}
MAX_STRENGTH = 2.0
RAMP_S = 0.04                       # into and out of a key's shape
_CLOSE = SPEECH_UNITS.index("lip_close")

_PHONE_SHAPE = {
    **{p: "AI" for p in ("AA", "AE", "AH", "AY", "AW", "HH")},
    **{p: "E" for p in ("EH", "EY", "IH", "IY", "Y")},
    **{p: "O" for p in ("AO", "OW", "OY", "ER")},
    **{p: "U" for p in ("UW", "UH", "W")},
    **{p: "MBP" for p in ("M", "B", "P")},
    **{p: "FV" for p in ("F", "V")},
    **{p: "L" for p in ("L", "TH", "DH")},
    "SIL": "rest",
}


def shape_of_phone(label: str) -> str:
    return _PHONE_SHAPE.get(label.upper().rstrip("012"), "etc")


def shape_targets(shape: str) -> np.ndarray:
    """The six speech units (jaw, round, stretch, close, labiodental, tongue) of a shape at strength 1."""
    if shape not in SHAPES or shape == "auto":
        raise KeyError(shape)
    t = np.asarray(target(SHAPES[shape][1]), np.float32).copy()
    t[0] = min(t[0] * JAW_SCALE, 1.0)     # as the automatic track scales its jaw
    if shape == "MBP":
        t[_CLOSE] = 1.0
    return t


def automatic_spans(phones: list[Phone]) -> list[tuple[float, float, str]]:
    """(start, end, shape) of the automatic mouth: consecutive phones with one shape merged."""
    out: list[tuple[float, float, str]] = []
    for p in sorted(phones, key=lambda p: p.start):
        s = shape_of_phone(p.label)
        if out and out[-1][2] == s and abs(out[-1][1] - p.start) < 1e-6:
            out[-1] = (out[-1][0], p.end, s)
        else:
            out.append((p.start, p.end, s))
    return out


def check_mouth_keys(keys: list[MouthKey], where=None) -> list[MouthKey]:
    """Keys in time order; a bad shape, strength or span is a UserInputError naming the key."""
    for n, k in enumerate(keys, 1):
        if k.shape not in SHAPES:
            raise UserInputError(f"mouth key {n} has the shape {k.shape!r}.", where,
                                 f"Use one of: {', '.join(SHAPES)}.")
        if not 0.0 <= k.strength <= MAX_STRENGTH:
            raise UserInputError(f"mouth key {n} has the strength {k.strength!r}.", where,
                                 f"Use a strength from 0 to {MAX_STRENGTH:g} (1 = as drawn).")
        if not (k.end > k.start >= 0.0):
            raise UserInputError(f"mouth key {n} spans {k.start!r}-{k.end!r} s.", where,
                                 "Give it a start of 0 or more and an end after its start.")
    return sorted(keys, key=lambda k: k.start)


def key_weight(key: MouthKey, t: np.ndarray, ramp_s: float = RAMP_S) -> np.ndarray:
    """1 inside the key's span, ramping linearly to 0 over ``ramp_s`` on both sides."""
    inside_lo = np.clip((t - (key.start - ramp_s)) / ramp_s, 0.0, 1.0)
    inside_hi = np.clip(((key.end + ramp_s) - t) / ramp_s, 0.0, 1.0)
    return np.minimum(inside_lo, inside_hi)


def apply_mouth_keys(motion, keys: list[MouthKey], lead_s: float = LEAD_S) -> int:
    """Override the speech units of ``motion`` (a MotionTrack, edited in place) with the keys.

    A frame shows the mouth for the sound ``lead_s`` later (the lips lead),
    as the automatic track does. Lip closure is not scaled by strength (a
    weaker "MBP" still closes); "rest" closes the lips to their rest
    position. Returns the number of frames changed.
    """
    if not keys:
        return 0
    keys = check_mouth_keys(list(keys))
    n, fps = motion.n_frames, motion.fps
    t = (np.arange(n) + 0.5) / fps + lead_s
    cols = [motion.units.index(u) for u in SPEECH_UNITS]
    w = motion.weights
    changed = np.zeros(n, bool)
    for k in keys:
        a = key_weight(k, t)
        rows = np.flatnonzero(a > 0)
        if len(rows) == 0:
            continue
        cur = w[np.ix_(rows, cols)].astype(np.float32)
        if k.shape == "auto":
            want = cur * k.strength
            want[:, _CLOSE] = cur[:, _CLOSE]
        else:
            tg = shape_targets(k.shape)
            want = np.repeat((tg * k.strength)[None, :], len(rows), 0)
            want[:, _CLOSE] = tg[_CLOSE]
        want = np.clip(want, 0.0, 1.0)
        aa = a[rows, None].astype(np.float32)
        w[np.ix_(rows, cols)] = (1 - aa) * cur + aa * want
        changed[rows] = True
    return int(changed.sum())
