"""Keyframed emotion curves: the file the app's curve editor saves.

Format (JSON, documented in docs/emotion.md)::

    {"kind": "synchrorama-emotion-curves", "version": 1,
     "channels": {
       "valence": {"mode": "override", "amount": 1.0,
                   "keys": [{"t": 0.0, "v": 0.0, "interp": "linear"},
                            {"t": 2.0, "v": 0.8, "interp": "bezier",
                             "out": [0.5, 0.0]},
                            {"t": 4.0, "v": 0.2, "in": [-0.5, 0.0]}]},
       "arousal": {...}, "happy": {...}, "intensity": {...}}}

Channels: ``valence`` and ``arousal`` in [-1, 1]; one per class name of
``tracks.EMOTIONS`` (that class's share, 0..1); ``intensity`` (0..1.5, the
overall strength of the face). ``interp`` on a key governs the segment that
starts at it: ``constant`` holds, ``linear`` ramps, ``bezier`` follows a
cubic Bezier through this key's ``out`` handle and the next key's ``in``
handle, each a (seconds, value) offset from its key as in Blender's graph
editor. Before the first key the first value holds; after the last, the last.
``mode`` is ``override`` (result = (1-amount)*analysis + amount*curve) or
``add`` (result = analysis + amount*curve).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserInputError
from core.tracks import EMOTIONS

KIND = "synchrorama-emotion-curves"
VERSION = 1
INTERPS = ("constant", "linear", "bezier")
MODES = ("override", "add")
CHANNELS: tuple[str, ...] = ("valence", "arousal", "intensity") + EMOTIONS
RANGES = {"valence": (-1.0, 1.0), "arousal": (-1.0, 1.0), "intensity": (0.0, 1.5)}


@dataclass
class Key:
    t: float
    v: float
    interp: str = "linear"
    in_handle: tuple[float, float] = (0.0, 0.0)   # (dt <= 0, dv)
    out_handle: tuple[float, float] = (0.0, 0.0)  # (dt >= 0, dv)

    def to_dict(self) -> dict:
        d: dict = {"t": round(self.t, 4), "v": round(self.v, 4), "interp": self.interp}
        if self.in_handle != (0.0, 0.0):
            d["in"] = [round(x, 4) for x in self.in_handle]
        if self.out_handle != (0.0, 0.0):
            d["out"] = [round(x, 4) for x in self.out_handle]
        return d


@dataclass
class Channel:
    keys: list[Key] = field(default_factory=list)
    mode: str = "override"
    amount: float = 1.0

    def to_dict(self) -> dict:
        return {"mode": self.mode, "amount": self.amount, "keys": [k.to_dict() for k in self.keys]}

    def evaluate(self, t: np.ndarray) -> np.ndarray:
        return evaluate_keys(self.keys, t)


@dataclass
class Curves:
    channels: dict[str, Channel] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": KIND, "version": VERSION,
                "channels": {k: c.to_dict() for k, c in self.channels.items()}}

    def save(self, path: str | Path) -> None:
        from core.io.files import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")  # never half-written


def _bezier_segment(k0: Key, k1: Key, t: np.ndarray) -> np.ndarray:
    """Value of the cubic Bezier k0 -> k1 at times t (solve x(s) = t by bisection)."""
    span = k1.t - k0.t
    # handles are clamped inside the segment so x(s) stays monotonic
    x1 = k0.t + float(np.clip(k0.out_handle[0], 0, span))
    x2 = k1.t + float(np.clip(k1.in_handle[0], -span, 0))
    if k0.out_handle == (0.0, 0.0):
        x1, y1 = k0.t + span / 3, k0.v + (k1.v - k0.v) / 3
    else:
        y1 = k0.v + k0.out_handle[1]
    if k1.in_handle == (0.0, 0.0):
        x2, y2 = k1.t - span / 3, k1.v - (k1.v - k0.v) / 3
    else:
        y2 = k1.v + k1.in_handle[1]
    lo = np.zeros_like(t)
    hi = np.ones_like(t)
    for _ in range(40):
        s = 0.5 * (lo + hi)
        x = ((1 - s) ** 3) * k0.t + 3 * ((1 - s) ** 2) * s * x1 + 3 * (1 - s) * s * s * x2 + s ** 3 * k1.t
        below = x < t
        lo = np.where(below, s, lo)
        hi = np.where(below, hi, s)
    s = 0.5 * (lo + hi)
    return ((1 - s) ** 3) * k0.v + 3 * ((1 - s) ** 2) * s * y1 + 3 * (1 - s) * s * s * y2 + s ** 3 * k1.v


def evaluate_keys(keys: list[Key], t: np.ndarray) -> np.ndarray:
    """Sample a keyframed channel at times t (seconds)."""
    t = np.asarray(t, np.float64)
    if not keys:
        return np.zeros_like(t)
    keys = sorted(keys, key=lambda k: k.t)
    out = np.full_like(t, keys[0].v)
    out[t >= keys[-1].t] = keys[-1].v
    for k0, k1 in zip(keys[:-1], keys[1:]):
        m = (t >= k0.t) & (t < k1.t)
        if not m.any() or k1.t <= k0.t:
            continue
        tt = t[m]
        if k0.interp == "constant":
            out[m] = k0.v
        elif k0.interp == "bezier":
            out[m] = _bezier_segment(k0, k1, tt)
        else:
            out[m] = k0.v + (k1.v - k0.v) * (tt - k0.t) / (k1.t - k0.t)
    return out


FORMAT_FIX = "See docs/emotion.md for the curve file format, or save the curves again from the app."


def _bad(path, msg: str, fix: str = FORMAT_FIX) -> UserInputError:
    return UserInputError(f"emotion curves: {msg}", path, fix)


def _real(value: object) -> bool:
    """A JSON number that is a finite real (not a boolean, not a numeric string, not NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _number(value: object, path, where: str, example: str) -> float:
    if not _real(value):
        what = "not a finite number" if isinstance(value, float) else "not a number"
        raise _bad(path, f"{where} is {value!r}, {what}.", f"Write it as a plain number, e.g. {example}.")
    return float(value)


def _pair(v, path, where: str, handle: str) -> tuple[float, float]:
    if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(_real(x) for x in v)):
        raise _bad(path, f"{where}: '{handle}' is {v!r}, not [seconds, value].",
                   f'Write it as two numbers, e.g. "{handle}": [0.5, 0.0].')
    return float(v[0]), float(v[1])


def parse_curves(data: dict, path: str | Path | None = None) -> Curves:
    """Validate a curves document; each error is one line naming the channel, the key and the fix.

    Types are checked, not coerced: a string, a boolean or NaN where a number belongs, keys out
    of time order or an unknown channel name are refused rather than guessed at.
    """
    if not isinstance(data, dict) or data.get("kind", KIND) != KIND:
        raise _bad(path, "not an emotion curves file.", f'It needs "kind": "{KIND}" and "channels". ' + FORMAT_FIX)
    version = data.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad(path, f"'version' is {version!r}, not a whole number.", f'Set "version": {VERSION}.')
    if version > VERSION:
        raise _bad(path, f"version {version} is newer than this build supports (up to {VERSION}).",
                   "Update SynchroRaMa Studio, or save the curves from this version of the app.")
    chans = data.get("channels")
    if not isinstance(chans, dict) or not chans:
        raise _bad(path, "no 'channels'.", 'Add "channels": {"valence": {"keys": [{"t": 0, "v": 0.5}]}}.')
    out = Curves()
    for name, ch in chans.items():
        if name not in CHANNELS:
            import difflib

            near = difflib.get_close_matches(str(name).lower(), CHANNELS, n=1)
            hint = f"Did you mean '{near[0]}'? " if near else ""
            raise _bad(path, f"unknown channel '{name}'.", f"{hint}Use one of: {', '.join(CHANNELS)}.")
        if isinstance(ch, list):
            ch = {"keys": ch}
        if not isinstance(ch, dict):
            raise _bad(path, f"channel '{name}' is {ch!r}, not an object with 'keys'.",
                       f'Write it as "{name}": {{"keys": [{{"t": 0, "v": 0.5}}]}}.')
        mode = ch.get("mode", "override")
        if mode not in MODES:
            raise _bad(path, f"channel '{name}': mode is {mode!r}.", f"Use one of: {', '.join(MODES)}.")
        amount = _number(ch.get("amount", 1.0), path, f"channel '{name}': 'amount'", "1.0")
        raw = ch.get("keys", [])
        if not isinstance(raw, list):
            raise _bad(path, f"channel '{name}': 'keys' is {raw!r}, not a list.",
                       'Write it as "keys": [{"t": 0, "v": 0.5}, ...].')
        keys: list[Key] = []
        for i, k in enumerate(raw):
            where = f"channel '{name}' key {i}"
            if not isinstance(k, dict) or "t" not in k or "v" not in k:
                raise _bad(path, f"{where} needs 't' and 'v'.",
                           'Write each key as {"t": SECONDS, "v": VALUE}.')
            interp = k.get("interp", "linear")
            if interp not in INTERPS:
                raise _bad(path, f"{where}: interp is {interp!r}.", f"Use one of: {', '.join(INTERPS)}.")
            t = _number(k["t"], path, f"{where}: 't'", "1.5 (seconds)")
            v = _number(k["v"], path, f"{where}: 'v'", "0.5")
            if t < 0:
                raise _bad(path, f"{where}: 't' is {t:g}, before the start.", "Use a time of 0 seconds or later.")
            if keys and t < keys[-1].t:
                raise _bad(path, f"{where} (t={t:g} s) comes before key {i - 1} (t={keys[-1].t:g} s).",
                           "List each channel's keys in time order (check that time for a typo).")
            lo, hi = RANGES.get(name, (0.0, 1.0))
            keys.append(Key(t, float(np.clip(v, lo, hi)), interp,
                            _pair(k.get("in", (0, 0)), path, where, "in"),
                            _pair(k.get("out", (0, 0)), path, where, "out")))
        if not keys:
            raise _bad(path, f"channel '{name}' has no keys.",
                       f'Give it at least one key, e.g. {{"t": 0, "v": 0.5}}, or remove the channel.')
        out.channels[name] = Channel(keys, mode, amount)
    return out


def load_curves(path: str | Path) -> Curves:
    from core.io.files import read_user_text

    path = Path(path)
    try:
        data = json.loads(read_user_text(path, "emotion curves file", "Give the .json file the app saved."))
    except UnicodeDecodeError:
        raise _bad(path, "not UTF-8 text.", "Give the .json file the app saved (a text file).") from None
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
                   "Correct the JSON there, or save the curves again from the app.") from None
    except OSError as exc:
        raise UserInputError(f"cannot read the emotion curves file ({exc.strerror or exc}).", path,
                             "Check the file's permissions.") from None
    return parse_curves(data, path)


def curves_from_track(track, step_s: float = 0.5, classes: bool = True) -> Curves:
    """Editable starting point for the app: the analysis sampled as linear keys."""
    n = track.n_frames
    if n == 0:
        return Curves()
    idx = np.unique(np.clip(np.round(np.arange(0, n / track.fps + 1e-9, step_s) * track.fps).astype(int), 0, n - 1))
    times = idx / track.fps

    def ch(values: np.ndarray) -> Channel:
        return Channel([Key(float(t), float(v)) for t, v in zip(times, values[idx])])

    c = Curves({"valence": ch(track.valence), "arousal": ch(track.arousal)})
    if classes:
        for j, name in enumerate(track.classes):
            if name in EMOTIONS:
                c.channels[name] = ch(track.probs[:, j])
    return c
