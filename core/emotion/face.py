"""Emotion -> face: action-unit weights and head posture from an EmotionTrack.

Each class has a FACS prototype (EMFACS-style: which units and how much at
full intensity). The amplitudes are the mean of a designer default and the
MEAD measurement in ``face_prototypes.json`` (see calibrate_faces.py and
docs/emotion.md): the measurement on two speaking actors is noisy, the
default keeps every prototype unit present so an expression classifier can
read it. The portrait's own expression (``sources['portrait_<class>']``) is
subtracted so a photo that already smiles is not pushed to a double smile.
Head: A2M already scales motion energy by arousal; here sadness lowers and
slows the head, surprise/contempt lift the chin, anger/fear lower it a little.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.tracks import EMOTIONS, EmotionTrack, MotionTrack

DEFAULTS: dict[str, dict[str, float]] = {
    "happy": {"cheek_raise": 0.7, "lip_corner_pull": 0.9, "lid_tighten": 0.2},
    "sad": {"brow_inner_up": 0.8, "brow_lower": 0.4, "lip_corner_depress": 0.7, "chin_raise": 0.4},
    "surprised": {"brow_inner_up": 0.8, "brow_outer_up": 0.8, "upper_lid_raise": 0.8},
    "fearful": {"brow_inner_up": 0.7, "brow_outer_up": 0.5, "brow_lower": 0.4,
                "upper_lid_raise": 0.8, "lid_tighten": 0.2},
    "angry": {"brow_lower": 0.9, "upper_lid_raise": 0.4, "lid_tighten": 0.6, "lip_press": 0.6},
    "disgusted": {"nose_wrinkle": 0.8, "upper_lip_raise": 0.7, "lip_corner_depress": 0.4,
                  "chin_raise": 0.3},
    "contempt": {"contempt_corner": 0.8, "lip_corner_pull": 0.15},
}
# mouth units some emotions add on top of speech (AU26 jaw drop, AU20 stretch)
EXTRA_MOUTH: dict[str, dict[str, float]] = {
    "surprised": {"jaw_open": 0.2},
    "fearful": {"lip_stretch": 0.35, "jaw_open": 0.1},
}
# head posture per class at full intensity: pitch offset (deg, + = chin up),
# roll offset (deg), motion energy factor
HEAD: dict[str, tuple[float, float, float]] = {
    "happy": (1.0, 0.0, 1.1), "sad": (-5.0, 0.0, 0.6), "surprised": (2.5, 0.0, 1.1),
    "fearful": (-1.5, 0.0, 0.9), "angry": (-2.0, 0.0, 1.1), "disgusted": (-1.0, 1.0, 1.0),
    "contempt": (2.5, 2.0, 0.9),
}
PORTRAIT_DISCOUNT = 0.8
PROTO_PATH = Path(__file__).resolve().parent / "face_prototypes.json"


@lru_cache(maxsize=1)
def prototypes() -> dict[str, dict[str, float]]:
    """Per-class AU amplitudes: mean of the FACS default and the MEAD measurement."""
    measured: dict = {}
    try:
        measured = json.loads(PROTO_PATH.read_text(encoding="utf-8")).get("mean", {})
    except (FileNotFoundError, ValueError):
        pass
    out: dict[str, dict[str, float]] = {}
    for emo, units in DEFAULTS.items():
        m = measured.get(emo, {})
        out[emo] = {u: round(float(np.clip(0.5 * d + 0.5 * min(float(m.get(u, d)), 1.0), 0, 1)), 4)
                    for u, d in units.items()}
        out[emo].update(EXTRA_MOUTH.get(emo, {}))
    return out


def _resample(a: np.ndarray, n: int) -> np.ndarray:
    if len(a) == n:
        return a
    if len(a) == 0:
        return np.zeros((n,) + a.shape[1:], np.float32)
    src = np.linspace(0, 1, len(a))
    dst = np.linspace(0, 1, n)
    if a.ndim == 1:
        return np.interp(dst, src, a).astype(np.float32)
    return np.stack([np.interp(dst, src, a[:, k]) for k in range(a.shape[1])], 1).astype(np.float32)


def activations(emotion: EmotionTrack, n: int | None = None) -> dict[str, np.ndarray]:
    """Per-class expression strength per frame (0..~1.5), portrait-compensated."""
    n = emotion.n_frames if n is None else n
    probs = _resample(np.asarray(emotion.probs, np.float32), n)
    inten = _resample(np.asarray(emotion.intensity, np.float32), n)
    classes = list(emotion.classes)
    p_neu = probs[:, classes.index("neutral")] if "neutral" in classes else np.zeros(n, np.float32)
    gain = np.clip(inten / np.maximum(1 - p_neu, 0.05), 0, 2)
    out = {}
    for j, c in enumerate(classes):
        if c == "neutral" or c not in DEFAULTS:
            continue
        a = probs[:, j] * gain
        already = float(emotion.sources.get(f"portrait_{c}", 0.0))
        out[c] = np.clip(a - PORTRAIT_DISCOUNT * already, 0, 1.5).astype(np.float32)
    return out


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x.astype(np.float64), max(sigma, 1e-3), axis=0, mode="nearest").astype(np.float32)


def emotion_to_motion(motion: MotionTrack, emotion: EmotionTrack) -> None:
    """Add emotion AUs and head posture to ``motion`` in place (pipeline entry)."""
    n = motion.n_frames
    if n == 0:
        return
    acts = activations(emotion, n)
    protos = prototypes()
    units = list(motion.units)
    add = np.zeros_like(motion.weights)
    for c, a in acts.items():
        for u, amp in protos[c].items():
            if u in units:
                add[:, units.index(u)] += a * amp
    w = motion.weights + add
    # AU15 (corners down) and AU12 (corners up) fight; keep the stronger side
    if "lip_corner_pull" in units and "lip_corner_depress" in units:
        i, j = units.index("lip_corner_pull"), units.index("lip_corner_depress")
        pull, dep = w[:, i].copy(), w[:, j].copy()
        w[:, i] = np.clip(pull - 0.5 * dep, 0, None)
        w[:, j] = np.clip(dep - 0.5 * pull, 0, None)
    motion.weights[:] = np.clip(w, 0, 1)
    # head posture
    fps = motion.fps
    pitch = np.zeros(n, np.float32)
    roll = np.zeros(n, np.float32)
    energy = np.ones(n, np.float32)
    for c, a in acts.items():
        dp, dr, e = HEAD[c]
        a1 = np.clip(a, 0, 1)
        pitch += a1 * dp
        roll += a1 * dr
        energy *= 1 + a1 * (e - 1)
    sad = np.clip(acts.get("sad", np.zeros(n, np.float32)), 0, 1)
    head = motion.head
    rot = head[:, :3].copy()
    mean = rot.mean(0, keepdims=True)
    slow = _smooth(rot, fps * 0.25)          # sadness: slower, heavier head
    rot = (1 - 0.6 * sad[:, None]) * rot + 0.6 * sad[:, None] * slow
    rot = mean + (rot - mean) * _smooth(energy, fps * 0.3)[:, None]
    rot[:, 1] += _smooth(pitch, fps * 0.3)
    rot[:, 2] += _smooth(roll, fps * 0.3)
    head[:, :3] = rot
    head[:, 0] = np.clip(head[:, 0], -20, 20)
    head[:, 1] = np.clip(head[:, 1], -15, 15)
    head[:, 2] = np.clip(head[:, 2], -12, 12)
