"""User control over the analysed emotion: forced class, strength, curves.

Order of application: a forced class replaces the analysis (keeping a
little of its arousal dynamics so the head stays alive), then keyframed
curves override or add per channel, then the strength scales the result.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.emotion.curves import Curves, load_curves
from core.emotion.ser import CIRCUMPLEX
from core.errors import UserInputError
from core.tracks import EMOTIONS, EmotionTrack

FORCED_DYNAMICS = 0.3   # share of the analysed arousal wiggle kept under a forced class
MAX_STRENGTH = 3.0


def _copy(track: EmotionTrack) -> EmotionTrack:
    return replace(track, valence=track.valence.astype(np.float32).copy(),
                   arousal=track.arousal.astype(np.float32).copy(),
                   intensity=track.intensity.astype(np.float32).copy(),
                   probs=track.probs.astype(np.float32).copy(), sources=dict(track.sources))


def _to_emotions(track: EmotionTrack) -> EmotionTrack:
    """Re-map probs onto tracks.EMOTIONS if a file used another class order."""
    if tuple(track.classes) == EMOTIONS:
        return track
    probs = np.zeros((track.n_frames, len(EMOTIONS)), np.float32)
    for j, c in enumerate(track.classes):
        if c in EMOTIONS:
            probs[:, EMOTIONS.index(c)] = track.probs[:, j]
    probs[probs.sum(1) == 0, 0] = 1.0
    return replace(track, probs=probs, classes=EMOTIONS)


def check_emotion_name(name: str) -> None:
    """``--emotion`` / a project's emotion: auto or one class, refused before any analysis."""
    if name not in ("auto",) + EMOTIONS:
        raise UserInputError(f"unknown emotion '{name}'.", None, f"Use auto or one of: {', '.join(EMOTIONS)}.")


def force_emotion(track: EmotionTrack, emotion: str) -> EmotionTrack:
    """Every frame shows ``emotion`` at full intensity (neutral: none)."""
    t = _copy(track)
    k = EMOTIONS.index(emotion)
    t.probs[:] = 0
    t.probs[:, k] = 1.0
    v, a = CIRCUMPLEX[emotion]
    wiggle = track.arousal - float(np.mean(track.arousal)) if track.n_frames else 0
    t.valence[:] = v
    t.arousal[:] = np.clip(a + FORCED_DYNAMICS * wiggle, -1, 1)
    t.intensity[:] = 0.0 if emotion == "neutral" else 1.0
    t.sources["forced"] = float(k)
    return t


def apply_curves(track: EmotionTrack, curves: Curves) -> EmotionTrack:
    t = _copy(track)
    times = (np.arange(t.n_frames) + 0.5) / t.fps

    def mix(old: np.ndarray, ch) -> np.ndarray:
        cv = ch.evaluate(times).astype(np.float32)
        if ch.mode == "add":
            return old + ch.amount * cv
        return (1 - ch.amount) * old + ch.amount * cv

    for name, lo, hi in (("valence", -1, 1), ("arousal", -1, 1)):
        if name in curves.channels:
            setattr(t, name, np.clip(mix(getattr(t, name), curves.channels[name]), lo, hi).astype(np.float32))
            t.sources[f"curve_{name}"] = 1.0   # the face follows this channel (core.emotion.face)
    cls = [c for c in EMOTIONS if c in curves.channels]
    if cls:
        P = t.probs
        fixed = np.zeros(t.n_frames, np.float32)
        for c in cls:
            j = EMOTIONS.index(c)
            P[:, j] = np.clip(mix(P[:, j], curves.channels[c]), 0, 1)
            fixed += P[:, j]
            t.sources[f"curve_{c}"] = 1.0      # the face keeps the keyed mix (no dominance)
        # the classes the user set keep their values (scaled down only if they
        # sum past 1); the other classes share what is left
        over = np.maximum(fixed, 1.0)
        free = [j for j, c in enumerate(EMOTIONS) if c not in cls]
        rest = P[:, free].sum(1)
        left = np.clip(1 - fixed, 0, 1)
        for j, c in enumerate(EMOTIONS):
            if c in cls:
                P[:, j] /= over
            else:
                P[:, j] = np.where(rest > 1e-6, P[:, j] / np.maximum(rest, 1e-6) * left,
                                   left if c == "neutral" else 0.0)
        t.probs = P
        t.intensity = np.clip(1 - P[:, 0], 0, 1).astype(np.float32)
    if "intensity" in curves.channels:
        t.intensity = np.clip(mix(t.intensity, curves.channels["intensity"]), 0, 1.5).astype(np.float32)
    t.sources["curves"] = float(len(curves.channels))
    return t


def apply_user_control(track: EmotionTrack, emotion: str = "auto", strength: float = 1.0,
                       curves_path: str | None = None) -> EmotionTrack:
    """Forced class / strength / keyframed curves on top of the analysis (pipeline entry)."""
    if emotion not in ("auto",) + EMOTIONS:
        raise UserInputError(f"unknown emotion '{emotion}'.", None,
                             f"Use auto or one of: {', '.join(EMOTIONS)}.")
    try:
        strength = float(strength)
    except (TypeError, ValueError):
        raise UserInputError(f"emotion strength '{strength}' is not a number.", None,
                             "Use a number from 0 to 3 (1 = as analysed).") from None
    if not 0.0 <= strength <= MAX_STRENGTH or not np.isfinite(strength):
        raise UserInputError(f"emotion strength {strength} is out of range.", None,
                             "Use a number from 0 to 3 (1 = as analysed).")
    t = _to_emotions(track)
    if emotion != "auto":
        t = force_emotion(t, emotion)
    if curves_path:
        t = apply_curves(t, load_curves(curves_path))
    if strength != 1.0:
        t = _copy(t)
        t.intensity = np.clip(t.intensity * strength, 0, 1.5).astype(np.float32)
        t.valence = np.clip(t.valence * min(strength, 1.5), -1, 1).astype(np.float32)
        t.arousal = np.clip(t.arousal * min(strength, 1.5), -1, 1).astype(np.float32)
        t.sources["strength"] = strength
    return t
