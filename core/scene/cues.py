"""Scene descriptions -> changes to the MotionTrack, and text embeddings for renderers.

``apply_scene_cues`` runs after A2M and the emotion action units (see
core.pipeline.build_motion). Expression units are raised with ``max`` (a
smile on top of a happy face does not double), head angles are added
(a nod rides on the speech rhythm), gaze is blended towards a target, and
negated actions ("without smiling") suppress what A2M or the emotion put
there. Every cue fades in and out so edits never pop.

Sign conventions (MotionTrack): +yaw turns the nose to the subject's left,
+pitch lifts the chin, +roll tilts the crown to the subject's left, +gaze x
moves the irises to the subject's left, +gaze y moves them down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.units import clip_weights
from core.scene.parse import Cue, parse_description
from core.tracks import MotionTrack, SceneSegment, SceneTrack

YAW, PITCH, ROLL, TX, TY, SCALE = range(6)
RAMP_S = 0.25  # fade in/out of a held cue (seconds), shortened for short steps

# Held expression units at intensity 1 (weights are raised to at least env * value).
UNITS: dict[str, dict[str, float]] = {
    "raise_brows": {"brow_inner_up": 0.95, "brow_outer_up": 0.95, "upper_lid_raise": 0.25},
    "knit_brows": {"brow_lower": 0.95, "lid_tighten": 0.25},
    "smile": {"lip_corner_pull": 0.6, "cheek_raise": 0.4, "expr_happy": 1.0},   # "broadly" (1.0): the actors' full smile
    "frown": {"brow_lower": 0.75, "lip_corner_depress": 0.85, "chin_raise": 0.3},
    "close_eyes": {"eye_blink": 1.0},
    "eyes_wide": {"upper_lid_raise": 0.95, "brow_outer_up": 0.3},
    "squint": {"eye_squint": 0.9, "lid_tighten": 0.5},
    "purse_lips": {"lip_press": 0.85, "lip_round": 0.25},
    "eyes_half_closed": {"eye_blink": 0.6},
    "mouth_open": {"jaw_open": 0.35},
    "thoughtful": {"brow_lower": 0.35, "lip_press": 0.35},
    "surprised": {"brow_inner_up": 0.6, "brow_outer_up": 0.6, "upper_lid_raise": 0.6, "jaw_open": 0.25,
                  "expr_surprised": 0.8},
    "sad": {"brow_inner_up": 0.5, "lip_corner_depress": 0.5, "brow_lower": 0.1, "expr_sad": 0.8},
    "serious": {"brow_lower": 0.5, "lip_press": 0.5},
    "cheerful": {"lip_corner_pull": 0.5, "cheek_raise": 0.35, "expr_happy": 0.8},
    "laugh": {"lip_corner_pull": 0.6, "cheek_raise": 0.5, "eye_squint": 0.4, "expr_happy": 1.0},
    "look_down": {"eye_blink": 0.25},
}
# Units whose default intensity (0.7) already means "fully" (closed eyes are closed).
SCALED = {"close_eyes", "eyes_half_closed", "mouth_open"}
# Held head offsets at intensity 1 (degrees or fractions), added.
HEAD: dict[str, dict[int, float]] = {
    "lower_head": {PITCH: -9.0},
    "raise_chin": {PITCH: 8.0},
    "lean_in": {SCALE: 0.10, TY: 0.02},
    "lean_back": {SCALE: -0.08, PITCH: 2.0},
    "sad": {PITCH: -4.0},
    "cheerful": {PITCH: 1.5},
    "thoughtful": {ROLL: 3.0},
}
# Units and head axes a negated action suppresses ("without smiling").
SUPPRESS_HEAD: dict[str, tuple[int, ...]] = {
    "nod": (PITCH,), "shake": (YAW,), "tilt": (ROLL,), "turn": (YAW,), "lower_head": (PITCH,),
    "raise_chin": (PITCH,), "calm": (), "laugh": (PITCH,),
}
SUPPRESS_UNITS: dict[str, tuple[str, ...]] = {
    "blink": ("eye_blink",), "wink": ("eye_blink", "wink_left", "wink_right"), "sigh": ("jaw_open",),
}


@dataclass
class SegmentCues:
    """What one segment was understood as (for the app and the report)."""

    segment: SceneSegment
    cues: list[Cue] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


def _fmt(t: float) -> str:
    return f"{t:.1f}".rstrip("0").rstrip(".")


def scene_cues(scenes: SceneTrack) -> list[SegmentCues]:
    """Parse every segment (ordered by start)."""
    out = []
    for seg in sorted(scenes.segments, key=lambda s: s.start):
        p = parse_description(seg.text)
        out.append(SegmentCues(seg, p.cues, p.unmapped))
    return out


def segment_embeddings(scenes: SceneTrack) -> np.ndarray:
    """(N, 384) MiniLM embedding of each segment's text, in segment order (for text conditioning)."""
    from core.scene.encoder import embed_texts

    return embed_texts([s.text for s in scenes.segments])


def frame_text_embeddings(scenes: SceneTrack, n_frames: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame text conditioning: (T, 384) embeddings and a (T,) mask (1 inside a segment)."""
    emb = segment_embeddings(scenes)
    out = np.zeros((n_frames, emb.shape[1] if len(emb) else 384), np.float32)
    mask = np.zeros(n_frames, np.float32)
    t = (np.arange(n_frames) + 0.5) / fps
    for e, s in zip(emb, scenes.segments):
        inside = (t >= s.start) & (t < s.end)
        out[inside] = e
        mask[inside] = 1.0
    return out, mask


# -- timing shapes -------------------------------------------------------------

def _window(t: np.ndarray, a: float, b: float, ramp: float) -> np.ndarray:
    """1 inside [a, b] with raised-cosine ramps of ``ramp`` s inside the edges."""
    r = max(1e-3, min(ramp, (b - a) / 3))
    up = np.clip((t - a) / r, 0, 1)
    down = np.clip((b - t) / r, 0, 1)
    return (0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))).astype(np.float32)


def _burst(t: np.ndarray, a: float, b: float, period: float, max_cycles: int) -> tuple[np.ndarray, np.ndarray]:
    """Phase (cycles since a) and a Hann taper over a gesture of whole cycles inside [a, b]."""
    cycles = int(np.clip(np.floor((b - a) / period), 1, max_cycles))
    dur = min(b - a, cycles * period)
    x = (t - a) / dur
    inside = (x >= 0) & (x <= 1)
    phase = np.where(inside, (t - a) / period, 0.0)
    taper = np.where(inside, 1.0, 0.0)
    return phase, taper.astype(np.float32)


def _raise(m: MotionTrack, unit: str, values: np.ndarray) -> None:
    if unit in m.units:
        col = m.weights[:, m.units.index(unit)]
        np.maximum(col, np.clip(values, 0, 1), out=col)


def _suppress(m: MotionTrack, unit: str, env: np.ndarray) -> None:
    if unit in m.units:
        m.weights[:, m.units.index(unit)] *= (1.0 - env)


def _damp_axis(m: MotionTrack, col: int, env: np.ndarray, amount: float = 0.85) -> None:
    """Pull a head axis towards its own slow trend where env > 0 (removes gestures)."""
    from scipy.ndimage import gaussian_filter1d

    x = m.head[:, col]
    trend = gaussian_filter1d(x.astype(np.float64), max(1.0, m.fps * 0.8), mode="nearest")
    m.head[:, col] = (x - amount * env * (x - trend)).astype(np.float32)


def _blend_gaze(m: MotionTrack, env: np.ndarray, target: tuple[float, float]) -> None:
    for k in (0, 1):
        m.gaze[:, k] = m.gaze[:, k] * (1 - env) + target[k] * env
    np.clip(m.gaze, -1, 1, out=m.gaze)


# -- one cue -------------------------------------------------------------------

def _apply(m: MotionTrack, cue: Cue, a: float, b: float, seg_end: float, t: np.ndarray,
           notes: list[str]) -> None:
    i = float(np.clip(cue.intensity, 0.0, 1.2))
    name = cue.action
    env = _window(t, a, b, RAMP_S) * (1.0 if cue.negated else 1.0)
    if cue.negated:
        for u in list(UNITS.get(name, {})) + list(SUPPRESS_UNITS.get(name, ())):
            _suppress(m, u, env)
        for col in SUPPRESS_HEAD.get(name, ()):
            _damp_axis(m, col, env)
        if name == "look":
            _blend_gaze(m, env, (0.0, 0.0))
        return

    if name == "nod":
        phase, taper = _burst(t, a, b, 0.6 * cue.tempo, 3)
        dip = 0.5 - 0.5 * np.cos(2 * np.pi * phase)
        m.head[:, PITCH] -= (8.0 * i * dip * taper).astype(np.float32)
    elif name == "shake":
        phase, taper = _burst(t, a, b, 0.65 * cue.tempo, 3)
        m.head[:, YAW] += (11.0 * i * np.sin(2 * np.pi * phase) * taper).astype(np.float32)
    elif name == "laugh":
        for u, v in UNITS["laugh"].items():
            _raise(m, u, env * v * i)
        phase, taper = _burst(t, a, b, 0.25 * cue.tempo, 8)
        _raise(m, "jaw_open", env * taper * i * (0.15 + 0.2 * (0.5 + 0.5 * np.sin(2 * np.pi * phase))))
        m.head[:, PITCH] += (env * i * (3.0 + 1.5 * np.sin(2 * np.pi * phase) * taper)).astype(np.float32)
    elif name == "wink":
        w = _window(t, a, min(b, a + 0.55 * cue.tempo), 0.12)
        _raise(m, "wink_right" if cue.direction == "right" else "wink_left", w * min(1.0, i + 0.3))
    elif name == "blink":
        period = 0.45 * cue.tempo
        for k in range(2):
            s0 = a + k * period
            if s0 + 0.25 > b:
                break
            x = (t - s0) / 0.25
            _raise(m, "eye_blink", np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0))
    elif name == "sigh":
        dur = min(b - a, 1.6 * cue.tempo)
        x = np.clip((t - a) / dur, 0, 1)
        h = np.where((t >= a) & (t <= a + dur), np.sin(np.pi * x), 0.0).astype(np.float32)
        m.head[:, PITCH] -= 5.0 * i * h
        _raise(m, "jaw_open", 0.25 * i * h)
        _raise(m, "eye_blink", 0.4 * i * h)
        _raise(m, "brow_inner_up", 0.35 * i * h)
    elif name == "tilt":
        sign = -1.0 if cue.direction == "right" else 1.0
        m.head[:, ROLL] += sign * 9.0 * i * env
    elif name == "turn":
        if cue.direction in ("up", "down"):
            m.head[:, PITCH] += (8.0 if cue.direction == "up" else -9.0) * i * env
        elif cue.direction == "camera":
            _damp_axis(m, YAW, env, 1.0)
            m.head[:, YAW] *= (1 - 0.8 * env)
        else:
            sign = -1.0 if cue.direction in ("right", "away") else 1.0
            m.head[:, YAW] += sign * 14.0 * i * env
    elif name == "look":
        _look(m, cue.direction or "away", i, env)
    elif name == "calm":
        for col in (YAW, PITCH, ROLL):
            _damp_axis(m, col, env, 0.7 * min(1.0, i / 0.7))
    if name in UNITS:
        for u, v in UNITS[name].items():
            _raise(m, u, env * v * min(1.0, i / 0.7 if name in SCALED else i))
    for col, v in HEAD.get(name, {}).items():
        m.head[:, col] += (v * i * env).astype(np.float32)
    if name == "thoughtful":
        _blend_gaze(m, env * min(1.0, i / 0.7) * 0.8, (-0.45, -0.35))


def _look(m: MotionTrack, direction: str, i: float, env: np.ndarray) -> None:
    """Gaze leads, the head follows by a few degrees (as people do)."""
    k = min(1.0, i / 0.7)
    if direction == "camera":
        _blend_gaze(m, env, (0.0, 0.0))
        for col in (YAW, PITCH):
            _damp_axis(m, col, env, 0.7)
        return
    gx, gy, yaw, pitch = {
        "left": (0.6, 0.0, 9.0, 0.0), "right": (-0.6, 0.0, -9.0, 0.0),
        "up": (0.0, -0.6, 0.0, 5.0), "down": (0.0, 0.6, 0.0, -6.0),
        "away": (-0.55, 0.2, -7.0, -1.0),
    }[direction]
    _blend_gaze(m, env, (gx * k, gy * k))
    m.head[:, YAW] += (yaw * k * env).astype(np.float32)
    m.head[:, PITCH] += (pitch * k * env).astype(np.float32)
    if direction == "down":
        for u, v in UNITS["look_down"].items():
            _raise(m, u, env * v * k)


def apply_scene_cues(motion: MotionTrack, scenes: SceneTrack, fps: float) -> list[str]:
    """Edit ``motion`` in place from the scene descriptions; return messages for the user."""
    messages: list[str] = []
    n = motion.n_frames
    t = (np.arange(n) + 0.5) / fps
    duration = n / fps
    for sc in scene_cues(scenes):
        seg = sc.segment
        label = f"scene {_fmt(seg.start)}-{_fmt(seg.end)} s"
        if seg.start >= duration:
            messages.append(f"{label} starts after the narration ends; it has no effect.")
            continue
        for phrase in sc.unmapped:
            messages.append(f"{label}: could not map '{phrase}' to a facial action; it is ignored.")
        if not sc.cues and not sc.unmapped:
            messages.append(f"{label}: '{seg.text}' describes no visible action.")
        span = seg.end - seg.start
        notes: list[str] = []
        for cue in sc.cues:
            a, b = seg.start + cue.t0 * span, seg.start + cue.t1 * span
            _apply(motion, cue, a, b, seg.end, t, notes)
        messages += [f"{label}: {m}" for m in dict.fromkeys(notes)]
    clip_weights(motion.weights, motion.units)
    # the mesh warp tears beyond about these angles (measured on the sample portrait)
    motion.head[:, YAW] = np.clip(motion.head[:, YAW], -20, 20)
    motion.head[:, PITCH] = np.clip(motion.head[:, PITCH], -12, 12)
    motion.head[:, ROLL] = np.clip(motion.head[:, ROLL], -12, 12)
    return messages
