"""Audio-to-motion, acoustic path: a MotionTrack from audio features alone.

This is the language-independent path (no words needed): jaw opening
follows loudness inside voiced stretches, lip rounding/spreading follow the
spectral shape, blinks and head motion come from a seeded random process
shaped by the speech rhythm. The phone-driven path (forced alignment,
visemes with coarticulation) refines the mouth when words are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.speech.features import AudioFeatures
from core.tracks import Alignment, EmotionTrack, MotionTrack

LIP_LEAD_FRAMES = 1.0  # real lips lead the sound by ~1-2 frames at 25 fps


@dataclass
class A2MSettings:
    seed: int = 0
    head_energy: float = 1.0     # overall head-motion amplitude
    blink_rate: float = 17.0     # blinks per minute at neutral arousal
    mouth_gain: float = 1.0


def _smooth(x: np.ndarray, frames: float) -> np.ndarray:
    if frames <= 0:
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x.astype(np.float64), frames, mode="nearest").astype(np.float32)


def _shift(x: np.ndarray, frames: float) -> np.ndarray:
    """Shift a series earlier by ``frames`` (fractional, linear interpolation)."""
    t = np.arange(len(x)) + frames
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


def mouth_from_audio(feat: AudioFeatures, fps: float, n: int) -> dict[str, np.ndarray]:
    """Jaw, rounding and spreading weights from loudness and spectrum."""
    db = feat.at_fps(feat.rms_db, fps, n)
    voiced = feat.at_fps(feat.voiced.astype(np.float32), fps, n)
    lo = np.percentile(feat.rms_db, 20)
    hi = np.percentile(feat.rms_db[feat.voiced], 95) if feat.voiced.any() else lo + 30
    loud = np.clip((db - lo) / max(hi - lo, 6.0), 0, 1)
    # syllable-scale modulation: loudness above its own 300 ms average opens more
    local = loud - 0.6 * _smooth(loud, fps * 0.3)
    jaw = np.clip((0.45 * loud ** 1.5 + 0.9 * np.clip(local, 0, None)) * np.clip(voiced * 1.5, 0, 1), 0, 1)
    low = feat.at_fps(feat.low_ratio, fps, n)
    cen = feat.at_fps(feat.centroid, fps, n)
    med_c = float(np.median(feat.centroid[feat.voiced])) if feat.voiced.any() else 1500.0
    round_ = np.clip((low - 0.75) / 0.2, 0, 1) * jaw ** 0.5
    stretch = np.clip((cen - med_c) / (med_c + 1e-6), 0, 1) * np.clip(voiced, 0, 1) * 0.6
    out = {"jaw_open": jaw * 0.7, "lip_round": round_ * 0.7, "lip_stretch": stretch}
    return {k: _shift(_smooth(v, 0.6), LIP_LEAD_FRAMES) for k, v in out.items()}


def blinks(n: int, fps: float, rng: np.random.Generator, rate_per_min: float,
           pauses: np.ndarray | None = None) -> np.ndarray:
    """Blink weight per frame: a renewal process with a refractory period.

    Intervals are gamma-distributed around 60/rate seconds (regular enough to
    look natural, never periodic); pause onsets pull a blink forward. Each
    blink closes in ~70 ms, holds ~30 ms and reopens in ~130 ms.
    """
    w = np.zeros(n, np.float32)
    mean_gap = 60.0 / max(rate_per_min, 1.0)
    t = rng.uniform(0.3, mean_gap)
    dur = len(w) / fps
    onsets = np.flatnonzero(np.diff(pauses.astype(np.int8)) == 1) / fps if pauses is not None else []
    while t < dur:
        near = [o for o in onsets if t - 0.8 < o < t + 0.8]
        if near:
            t = near[0] + 0.05
        close, hold, open_ = 0.07, 0.03 + rng.uniform(0, 0.04), 0.13 + rng.uniform(0, 0.05)
        for i in range(int(t * fps), min(n, int((t + close + hold + open_) * fps) + 2)):
            s = i / fps - t
            if s < 0:
                continue
            if s < close:
                v = s / close
            elif s < close + hold:
                v = 1.0
            else:
                v = max(0.0, 1 - (s - close - hold) / open_)
            w[i] = max(w[i], v)
        t += max(1.2, rng.gamma(4.0, mean_gap / 4.0))
    return w


def _pink(n: int, rng: np.random.Generator, scales: tuple[float, ...]) -> np.ndarray:
    """Sum of smoothed noises at several time scales: drift without a period."""
    out = np.zeros(n, np.float32)
    for s in scales:
        out += _smooth(rng.standard_normal(n), s) * np.sqrt(s)
    return out / (np.std(out) + 1e-6)


def head_motion(feat: AudioFeatures, fps: float, n: int, rng: np.random.Generator,
                energy: np.ndarray) -> np.ndarray:
    """Yaw/pitch/roll (degrees) and small translations from speech rhythm.

    Slow drift everywhere, nods on loudness onsets (stressed syllables),
    damped in pauses; ``energy`` (per frame, ~0.5..1.5) scales amplitude.
    """
    db = feat.at_fps(feat.rms_db, fps, n)
    voiced = feat.at_fps(feat.voiced.astype(np.float32), fps, n)
    activity = _smooth(voiced, fps * 0.5)
    loud = np.clip((db - np.percentile(db, 30)) / 25.0, 0, 1)
    onset = np.clip(np.diff(_smooth(loud, 1.5), prepend=loud[0]), 0, None)
    nod = _smooth(onset * 40.0, fps * 0.12)
    drift_gain = 0.5 + 0.5 * activity
    yaw = _pink(n, rng, (fps * 1.5, fps * 4)) * 2.2 * drift_gain
    pitch = _pink(n, rng, (fps * 1.0, fps * 3)) * 1.2 * drift_gain - np.clip(nod, 0, 3.0)
    roll = _pink(n, rng, (fps * 2.0, fps * 5)) * 1.0 * drift_gain
    head = np.zeros((n, 6), np.float32)
    head[:, 0] = np.clip(yaw * energy, -12, 12)
    head[:, 1] = np.clip(pitch * energy, -8, 8)
    head[:, 2] = np.clip(roll * energy, -6, 6)
    head[:, 3] = _pink(n, rng, (fps * 3,)) * 0.006 * energy
    head[:, 4] = _pink(n, rng, (fps * 3,)) * 0.004 * energy
    return head


def gaze_motion(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Mostly at the camera, with small saccades held for 0.5-3 s."""
    g = np.zeros((n, 2), np.float32)
    t = 0
    while t < n:
        hold = int(fps * rng.uniform(0.5, 3.0))
        if rng.random() < 0.35:
            g[t:t + hold] = rng.normal(0, [0.25, 0.12])
        t += hold
    return _smooth(g[:, 0], 0.8)[:, None] * [1, 0] + _smooth(g[:, 1], 0.8)[:, None] * [0, 1]


def audio_to_motion(feat: AudioFeatures, fps: float, n_frames: int,
                    emotion: EmotionTrack | None = None,
                    settings: A2MSettings | None = None,
                    alignment: Alignment | None = None) -> MotionTrack:
    """The acoustic A2M: every output series is deterministic for a seed.

    ``alignment`` is accepted for the phone-driven path; this acoustic path
    does not use word timings.
    """
    s = settings or A2MSettings()
    rng = np.random.default_rng(s.seed)
    track = MotionTrack.rest(n_frames, fps)
    for name, w in mouth_from_audio(feat, fps, n_frames).items():
        track.unit(name)[:] = np.clip(w * s.mouth_gain, 0, 1)
    arousal = emotion.arousal if emotion is not None else np.zeros(n_frames, np.float32)
    energy = s.head_energy * (1.0 + 0.5 * np.clip(arousal, -1, 1))
    voiced = feat.at_fps(feat.voiced.astype(np.float32), fps, n_frames) > 0.5
    rate = s.blink_rate * (1.0 + 0.3 * float(np.mean(arousal)))
    track.unit("eye_blink")[:] = blinks(n_frames, fps, rng, rate, pauses=~voiced)
    track.head[:] = head_motion(feat, fps, n_frames, rng, energy)
    track.gaze[:] = gaze_motion(n_frames, fps, rng)
    return track
