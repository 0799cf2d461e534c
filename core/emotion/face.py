"""Emotion -> face: action-unit weights and head posture from an EmotionTrack.

Each class has a FACS prototype (EMFACS-style: which units and how much at
full intensity). The amplitudes were first fitted on MEAD (two speaking
actors, ``face_prototypes.json``, see tools/calibrate_faces.py) and then raised
where the rendered face did not read as the class to fer's classifier on
the dev portraits (docs/emotion.md has the table): the MEAD fit sees
speech-damped, small movements, and the mesh renderer's unit at weight 1 is
already a moderate expression. Angry and surprised keep the mouth a little
open (AU25/26 with AU10 for anger), as in EMFACS; speech moves it on top.

The portrait's own expression (fer's class probabilities on the photo,
``sources['portrait_<class>']``) is turned into the units the photo already
shows. An emotion adds only what is missing (a smiling photo gets little
extra lip_corner_pull for happy, so no double smile), and units the photo
shows that the emotion does not want are countered by their antagonists in
proportion to the emotion's strength (a smiling photo made sad gets more
lip_corner_depress). With no emotion the photo is left as it is: the
portrait is the neutral face.
Head: A2M already scales motion energy by arousal; here sadness lowers and
slows the head, surprise/contempt lift the chin, anger/fear lower it a little.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.units import clip_weights
from core.tracks import EmotionTrack, MotionTrack

DEFAULTS: dict[str, dict[str, float]] = {
    "happy": {"cheek_raise": 0.7, "lip_corner_pull": 0.9, "lid_tighten": 0.2},
    "sad": {"brow_inner_up": 1.0, "lip_corner_depress": 1.0, "chin_raise": 0.4},
    "surprised": {"brow_inner_up": 0.6, "brow_outer_up": 0.8, "upper_lid_raise": 0.8},
    "fearful": {"brow_inner_up": 0.8, "brow_outer_up": 0.7, "brow_lower": 0.4,
                "upper_lid_raise": 1.0, "lid_tighten": 0.2},
    "angry": {"brow_lower": 1.0, "upper_lid_raise": 0.4, "lid_tighten": 0.6, "lip_press": 1.0,
              "lip_corner_depress": 0.3},
    "disgusted": {"nose_wrinkle": 0.6, "upper_lip_raise": 0.6, "lip_corner_depress": 1.0,
                  "chin_raise": 0.6, "lid_tighten": 0.8},
    "contempt": {"contempt_corner": 0.8, "lip_corner_pull": 0.15},
}
# mouth units some emotions add on top of speech (AU25/26 lips apart, AU20 stretch, AU18 pucker)
EXTRA_MOUTH: dict[str, dict[str, float]] = {
    "happy": {"jaw_open": 0.15, "upper_lip_raise": 0.3},
    "surprised": {"jaw_open": 0.5, "lip_round": 0.8},
    "fearful": {"lip_stretch": 0.5, "jaw_open": 0.3},
}
# head posture per class at full intensity: pitch offset (deg, + = chin up),
# roll offset (deg), motion energy factor
HEAD: dict[str, tuple[float, float, float]] = {
    "happy": (1.0, 0.0, 1.1), "sad": (-5.0, 0.0, 0.6), "surprised": (2.5, 0.0, 1.1),
    "fearful": (-1.5, 0.0, 0.9), "angry": (-2.0, 0.0, 1.1), "disgusted": (-1.0, 1.0, 1.0),
    "contempt": (2.5, 2.0, 0.9),
}
# units that undo one another (what the emotion adds when the photo shows the
# key unit but the emotion does not want it), with shares
ANTAGONISTS: dict[str, dict[str, float]] = {
    "lip_corner_pull": {"lip_corner_depress": 1.0},
    "lip_corner_depress": {"lip_corner_pull": 0.8},
    "cheek_raise": {"upper_lid_raise": 0.4},
    "lid_tighten": {"upper_lid_raise": 0.4},
    "brow_lower": {"brow_inner_up": 0.5, "brow_outer_up": 0.5},
    "brow_inner_up": {"brow_lower": 0.35},   # brow_lower drops the inner ends ~1.9x as far as
    "brow_outer_up": {"brow_lower": 0.25},   # brow_inner_up lifts them: shares scaled to match
    "upper_lid_raise": {"lid_tighten": 0.6},
    "jaw_open": {"lip_close": 0.8},
}
# Each class also drives its learned whole-face unit (shape + skin ratio
# learned from MEAD actors, core/render/appearance.py) at this amplitude,
# and, where that amplitude is 1, its hand-built FACS units at FACS_SHARE of
# the amplitudes above (the learned shape already carries most of that
# motion); below 1 the FACS units keep their full amplitudes. Anger keeps its
# FACS face alone: the actors' angry face (a talking, open-mouthed anger)
# read as sad or happy on every dev portrait, and lp_s1 lost the anger the
# FACS face shows. Sadness takes 0.85 of the actors' face on the full FACS one:
# their whole sad face (lowered lids, pressed mouth) made lp_s1 read disgust,
# 0.6 left M030 and W009 reading neutral while talking (docs/emotion.md).
EXPRESSION_UNITS: dict[str, float] = {"happy": 1.0, "sad": 0.85, "angry": 0.0, "surprised": 1.0,
                                      "fearful": 1.0, "disgusted": 1.0}
FACS_SHARE = 0.5
PORTRAIT_FLOOR = 0.15    # fer probabilities below this are noise, not an expression
# A photo fer reads as happy is a posed, mild smile, not the actors' full
# level-3 face: it counts as this share of the learned unit, so a smiling
# photo made happy still gets the cheek folds and the parted lips.
PORTRAIT_EXPR_SHARE = 0.5
COUNTER_GAIN = 1.0
PROTO_PATH = Path(__file__).resolve().parent / "face_prototypes.json"


@lru_cache(maxsize=2)
def prototypes(learned: bool = True) -> dict[str, dict[str, float]]:
    """Per-class unit amplitudes: the tuned default, or the MEAD fit where it is larger.

    With ``learned`` the class also drives its learned whole-face unit and
    its FACS units at FACS_SHARE; without, the FACS units alone at full
    amplitude (how a photo's own expression is described in FACS terms).
    """
    measured: dict = {}
    try:
        measured = json.loads(PROTO_PATH.read_text(encoding="utf-8")).get("mean", {})
    except (FileNotFoundError, ValueError):
        pass
    out: dict[str, dict[str, float]] = {}
    for emo, units in DEFAULTS.items():
        m = measured.get(emo, {})
        share = FACS_SHARE if learned and EXPRESSION_UNITS.get(emo, 0.0) >= 1.0 else 1.0
        out[emo] = {u: round(float(np.clip(share * max(d, float(m.get(u, 0.0))), 0, 1)), 4)
                    for u, d in units.items()}
        if learned and EXPRESSION_UNITS.get(emo, 0.0) > 0:
            out[emo][f"expr_{emo}"] = EXPRESSION_UNITS[emo]
        for u, v in EXTRA_MOUTH.get(emo, {}).items():
            out[emo][u] = max(out[emo].get(u, 0.0), v)
    return out


def portrait_units(sources: dict[str, float]) -> dict[str, float]:
    """Units the portrait already shows, from its fer class probabilities.

    Each class's prototype is weighted by how far its probability stands above
    the noise floor; the mouth-opening extras are left out (the photo's own
    mouth gap is the rest pose the renderer starts from). The photo is
    described by the full FACS prototype and by the learned whole-face unit,
    so a smile in the photo is countered as firmly as before that unit existed.
    """
    protos = {c: dict(p) for c, p in prototypes(False).items()}
    for c, amp in EXPRESSION_UNITS.items():
        if amp > 0:   # the photo is measured against the actors' whole face, however much of it a class drives
            protos[c][f"expr_{c}"] = PORTRAIT_EXPR_SHARE
    out: dict[str, float] = {}
    for c in DEFAULTS:
        p = float(sources.get(f"portrait_{c}", 0.0))
        s = max(p - PORTRAIT_FLOOR, 0.0) / (1 - PORTRAIT_FLOOR)
        if s <= 0:
            continue
        for u, amp in protos[c].items():
            if u in EXTRA_MOUTH.get(c, {}) and u not in DEFAULTS[c]:
                continue
            out[u] = min(1.0, out.get(u, 0.0) + s * amp)
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


# How strongly the fused analysis must speak for the face to show an emotion
# at full (MEAD level-3) strength. Measured on the held-out RAVDESS actors
# 19-20, strong-intensity clips whose fused top class was right: the class
# probability was 0.54-0.80 (median 0.76) at intensity 0.73-0.80, never 1.
# The shown strength is 1 - (1 - total)^SHOW_EXPONENT of the summed class
# activations (0.75 -> 0.95, 0.5 -> 0.78, 0.2 -> 0.39), shared among the
# classes in proportion, so a clear analysis makes a clear face while a
# secondary class keeps its share.
SHOW_EXPONENT = 2.2


def shown_strength(total: np.ndarray) -> np.ndarray:
    """Total expression strength shown for a summed activation (above 1 kept: exaggeration)."""
    t = np.clip(total, 0, None)
    return np.where(t < 1, 1 - (1 - np.minimum(t, 1)) ** SHOW_EXPONENT, t).astype(np.float32)


def raw_activations(emotion: EmotionTrack, n: int | None = None) -> dict[str, np.ndarray]:
    """Per-class share of the analysis per frame: p(class) x intensity / (1 - p(neutral))."""
    n = emotion.n_frames if n is None else n
    probs = _resample(np.asarray(emotion.probs, np.float32), n)
    inten = _resample(np.asarray(emotion.intensity, np.float32), n)
    classes = list(emotion.classes)
    p_neu = probs[:, classes.index("neutral")] if "neutral" in classes else np.zeros(n, np.float32)
    gain = np.clip(inten / np.maximum(1 - p_neu, 0.05), 0, 2)
    return {c: (probs[:, j] * gain).astype(np.float32)
            for j, c in enumerate(classes) if c != "neutral" and c in DEFAULTS}


# A face shows one emotion at a time: the analysis's class mix (surprise 0.31,
# fear 0.13, disgust 0.10 on a surprised RAVDESS line) drawn as a blend
# read as nothing in particular. The shares are raised to this power and
# renormalised (same total), so the leading class carries the face; classes
# keyed by the user in the curve editor keep the mix they were given.
DOMINANCE = 2.0


def _dominant(raw: dict[str, np.ndarray], total: np.ndarray) -> dict[str, np.ndarray]:
    powered = {c: np.power(np.clip(a, 0, None), DOMINANCE) for c, a in raw.items()}
    norm = sum(powered.values(), np.zeros_like(total))
    return {c: np.where(norm > 1e-9, a * total / np.maximum(norm, 1e-9), 0).astype(np.float32)
            for c, a in powered.items()}


def activations(emotion: EmotionTrack, n: int | None = None) -> dict[str, np.ndarray]:
    """Per-class expression strength per frame (0..~1.5), calibrated by ``shown_strength``."""
    n = emotion.n_frames if n is None else n
    raw = raw_activations(emotion, n)
    total = sum(raw.values(), np.zeros(n, np.float32))
    if not any(emotion.sources.get(f"curve_{c}") for c in raw):
        raw = _dominant(raw, total)
    scale = shown_strength(total) / np.maximum(total, 1e-6)
    return {c: np.clip(a * scale, 0, 1.5).astype(np.float32) for c, a in raw.items()}


# Valence and arousal keyed by the user (emotion curves) that the class mix
# does not explain still move the face: valence along smile <-> frown,
# arousal opening the eyes and lifting the brows (A2M already gives arousal
# more head energy). Below the dead zone the difference is fusion noise.
AFFECT_DEADZONE = 0.1
AROUSAL_UNITS: dict[str, float] = {"upper_lid_raise": 0.7, "brow_outer_up": 0.5, "brow_inner_up": 0.3}
CALM_UNITS: dict[str, float] = {"eye_blink": 0.3, "brow_lower": 0.1}


def _deadzone(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.clip(np.abs(x) - AFFECT_DEADZONE, 0, None) / (1 - AFFECT_DEADZONE)


def affect_activations(emotion: EmotionTrack, acts: dict[str, np.ndarray], n: int
                       ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Class activations with the unexplained valence added, and the unexplained arousal.

    Positive extra valence shows as happiness; negative as sadness or, when
    aroused, anger (the circumplex's two negative quadrants).
    """
    from core.emotion.ser import CIRCUMPLEX

    val = _resample(np.asarray(emotion.valence, np.float32), n)
    aro = _resample(np.asarray(emotion.arousal, np.float32), n)
    raw = raw_activations(emotion, n)   # the analysis's own mix, before the display calibration
    total = sum(raw.values(), np.zeros(n, np.float32))
    raw = {c: a / np.maximum(total, 1.0) for c, a in raw.items()}   # strength > 1 is not more valence
    shown = np.clip(total, 0, 1)
    implied_v = sum((a * CIRCUMPLEX[c][0] for c, a in raw.items()), np.zeros(n, np.float32))
    implied_a = sum((a * CIRCUMPLEX[c][1] for c, a in raw.items()), np.zeros(n, np.float32))
    implied_a = implied_a + (1 - shown) * CIRCUMPLEX["neutral"][1]
    # only a channel the user keyed (or a forced class's own circumplex value)
    # speaks past the classes: the analysis's fused valence is a separate,
    # noisier estimate (prosody valence r 0.42) that must not undo its classes
    dv = _deadzone(val - implied_v) * float(emotion.sources.get("curve_valence", 0.0) > 0)
    da = _deadzone(aro - implied_a) * float(emotion.sources.get("curve_arousal", 0.0) > 0)
    out = {c: a.copy() for c, a in acts.items()}
    for c in ("happy", "sad", "angry"):
        out.setdefault(c, np.zeros(n, np.float32))
    up = shown_strength(np.clip(dv, 0, None) / CIRCUMPLEX["happy"][0])
    down = shown_strength(np.clip(-dv, 0, None) / -CIRCUMPLEX["sad"][0])
    angry_share = np.clip((aro + 0.1) / 0.8, 0, 1)
    # the valence the user (or the script) set wins over class evidence that
    # points the other way: a smile fades as valence goes negative
    for c in out:
        v = CIRCUMPLEX[c][0]
        if v > 0:
            out[c] = out[c] * np.clip(1 - down, 0, 1)
        elif v < 0:
            out[c] = out[c] * np.clip(1 - up, 0, 1)
    out["happy"] = np.clip(out["happy"] + up, 0, 1.5).astype(np.float32)
    out["sad"] = np.clip(out["sad"] + down * (1 - angry_share), 0, 1.5).astype(np.float32)
    out["angry"] = np.clip(out["angry"] + down * angry_share, 0, 1.5).astype(np.float32)
    return out, np.clip(da, -1, 1).astype(np.float32)


def unit_offsets(acts: dict[str, np.ndarray], units: list[str], n: int,
                 shown: dict[str, float] | None = None) -> np.ndarray:
    """(n, U) unit weights the emotion adds on top of a portrait showing ``shown``.

    target = sum of the classes' prototypes x activation; the photo's own
    units are subtracted (only what is missing is added) and the photo's
    units the target lacks are countered by their antagonists, scaled by how
    strongly an emotion is shown at all (so a plain neutral track changes
    nothing).
    """
    protos = prototypes()
    shown = shown or {}
    target = np.zeros((n, len(units)), np.float32)
    for c, a in acts.items():
        for u, amp in protos[c].items():
            if u in units:
                target[:, units.index(u)] += a * amp
    already = np.array([shown.get(u, 0.0) for u in units], np.float32)
    add = np.clip(target - already[None], 0, None)
    if shown:
        total = np.clip(sum(acts.values(), np.zeros(n, np.float32)), 0, 1) if acts else np.zeros(n, np.float32)
        excess = np.clip(already[None] - target, 0, None)
        for u, shares in ANTAGONISTS.items():
            if u not in units:
                continue
            ex = excess[:, units.index(u)] * total * COUNTER_GAIN
            for v, share in shares.items():
                if v in units:
                    add[:, units.index(v)] += share * ex
        # a learned expression the photo shows but the emotion lacks is undone
        # by the same unit below zero (its shape reversed, its folds divided
        # out), at the photo's full strength (1 / PORTRAIT_EXPR_SHARE of what
        # it counts as). At half, the sample's grin made sad still read
        # happy 0.94; scaled by the photo's own strength, M030's slightly
        # sad face made happy read sad (tests/emotion).
        for u in units:
            if u.startswith("expr_") and shown.get(u, 0.0) > 0:
                add[:, units.index(u)] -= excess[:, units.index(u)] * total / PORTRAIT_EXPR_SHARE
    return add


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x.astype(np.float64), max(sigma, 1e-3), axis=0, mode="nearest").astype(np.float32)


def emotion_to_motion(motion: MotionTrack, emotion: EmotionTrack) -> None:
    """Add emotion AUs and head posture to ``motion`` in place (pipeline entry)."""
    n = motion.n_frames
    if n == 0:
        return
    acts, arousal = affect_activations(emotion, activations(emotion, n), n)
    units = list(motion.units)
    add = unit_offsets(acts, units, n, portrait_units(emotion.sources))
    for table, amount in ((AROUSAL_UNITS, np.clip(arousal, 0, None)), (CALM_UNITS, np.clip(-arousal, 0, None))):
        for u, amp in table.items():
            if u in units:
                add[:, units.index(u)] += amp * amount
    w = motion.weights + add
    # AU15 (corners down) and AU12 (corners up) fight; keep the stronger side
    if "lip_corner_pull" in units and "lip_corner_depress" in units:
        i, j = units.index("lip_corner_pull"), units.index("lip_corner_depress")
        pull, dep = w[:, i].copy(), w[:, j].copy()
        w[:, i] = np.clip(pull - 0.5 * dep, 0, None)
        w[:, j] = np.clip(dep - 0.5 * pull, 0, None)
    motion.weights[:] = clip_weights(w, units)
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
