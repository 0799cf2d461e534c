"""Head motion from prosody: nods on accents, idle drift, stillness in pauses.

Speakers move the head with the rhythm of their speech: a small chin dip
(nod) or tilt lands on stressed syllables and pitch accents, the head
drifts slowly all the time, and it settles when they stop talking. Here
the *when* comes from the audio (pitch peaks, loud vowels from the
alignment, loudness onsets without one) and the *how* (direction, size,
timing jitter) from a seeded generator, so the motion follows the speech
without ever repeating a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.speech.features import AudioFeatures
from core.tracks import Alignment

VOWEL_START = set("AEIOU")


@dataclass
class Accent:
    t: float          # seconds
    strength: float   # 0..1 prominence


@dataclass
class HeadSettings:
    drift_deg: tuple[float, float, float] = (10.5, 10.5, 1.8)  # yaw, pitch, roll drift (std) at liveliness 1
    nod_deg: float = 5.0          # chin dip on a full-strength accent
    tilt_deg: float = 1.2         # roll / yaw that may accompany a nod
    pause_still: float = 0.35     # share of the fast motion left in pauses
    slow_s: tuple[float, float] = (1.2, 3.0)    # time scales (s) of the slow drift
    fast_s: tuple[float, float] = (0.25, 0.5)   # ...and of the quicker motion that goes with speech
    fast_share: float = 0.9       # its size beside the drift while talking
    min_gap_s: float = 0.3        # accents closer than this merge
    breath_deg: float = 0.35      # pitch swing of a breath (chest and shoulders lift the head)
    breath_s: tuple[float, float] = (3.2, 4.8)   # one breath lasts this long (12-18 per minute)
    chin_up_deg: float = 7.0      # soft limit of a chin lift at amount 1 (before arousal): see head_motion
    ease_in_s: float = 0.6        # the first frame shows the portrait's own pose
    limits_deg: tuple[float, float, float] = (25.0, 15.0, 10.0)  # |yaw|, |pitch|, |roll| at amount 1
    turn_cap: float = 0.0         # 0..1: how much of the renderer's turn limit applies (amount - 1)
    turn_knee_deg: float = 14.0   # the whole rotation bends softly above this...
    max_turn_deg: float = 20.0    # ...towards this (see head_motion)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    if sigma <= 0:
        return x.astype(np.float32)
    return gaussian_filter1d(x.astype(np.float64), sigma, mode="nearest").astype(np.float32)


def _pink(n: int, rng: np.random.Generator, scales: tuple[float, ...]) -> np.ndarray:
    """Sum of smoothed noises at several time scales: drift without a period.

    Zero mean and unit std over the clip: slow noise on a short clip has a
    large offset of its own, which turned the head to one side and held it
    there (clipped at the limit) instead of moving it.
    """
    out = np.zeros(n, np.float32)
    for s in scales:
        out += _smooth(rng.standard_normal(n), s) * np.sqrt(s)
    out -= out.mean()
    return out / (np.std(out) + 1e-6)


def pitch_accents(feat: AudioFeatures) -> list[Accent]:
    """Local pitch peaks well above the speaker's running level (semitones)."""
    f0 = feat.f0
    v = f0 > 0
    if v.sum() < 20:
        return []
    st = np.zeros(len(f0))
    st[v] = 12 * np.log2(f0[v] / np.median(f0[v]))
    # interpolate over unvoiced gaps so smoothing does not pull towards 0
    idx = np.flatnonzero(v)
    st = np.interp(np.arange(len(f0)), idx, st[idx])
    st = _smooth(st, 4)
    base = _smooth(st, 60)  # ~1 s running level
    rise = st - base
    out = []
    for i in range(1, len(st) - 1):
        if v[i] and rise[i] > 1.5 and st[i] >= st[i - 1] and st[i] > st[i + 1]:
            out.append(Accent(i / feat.rate, float(np.clip((rise[i] - 1.5) / 4.0, 0.1, 1.0))))
    return out


def stress_accents(feat: AudioFeatures, alignment: Alignment | None) -> list[Accent]:
    """Loud vowels (from the alignment) or loudness onsets (without one)."""
    db = feat.rms_db
    ref = float(np.median(db[feat.voiced])) if feat.voiced.any() else float(np.median(db))
    out = []
    if alignment is not None and alignment.phones:
        for p in alignment.phones:
            if p.label[:1] not in VOWEL_START:
                continue
            a, b = int(p.start * feat.rate), max(int(p.start * feat.rate) + 1, int(p.end * feat.rate))
            seg = db[a:b]
            if not len(seg):
                continue
            prom = (float(seg.max()) - ref) / 6.0 + (p.end - p.start - 0.08) / 0.1
            if prom > 0.8:
                out.append(Accent(p.start + 0.3 * (p.end - p.start), float(np.clip(prom / 2.5, 0.1, 1.0))))
        return out
    loud = _smooth(np.clip(db - ref + 6, 0, None), 3)
    onset = np.diff(loud, prepend=loud[0])
    for i in range(1, len(onset) - 1):
        if onset[i] > 1.2 and onset[i] >= onset[i - 1] and onset[i] > onset[i + 1]:
            out.append(Accent(i / feat.rate, float(np.clip(onset[i] / 4.0, 0.1, 1.0))))
    return out


def merge_accents(accents: list[Accent], min_gap: float) -> list[Accent]:
    """Keep the strongest of accents closer than ``min_gap``."""
    out: list[Accent] = []
    for a in sorted(accents, key=lambda a: -a.strength):
        if all(abs(a.t - b.t) >= min_gap for b in out):
            out.append(a)
    return sorted(out, key=lambda a: a.t)


def _pulse(n: int, fps: float, t0: float, tau: float) -> np.ndarray:
    """A smooth bump starting at t0, peaking tau later, gone after ~5 tau."""
    t = np.arange(n) / fps - t0
    x = np.clip(t / tau, 0, None)
    return (x * np.exp(1 - x)).astype(np.float32)


SPEECH_RANGE_ST = (8.0, 18.0)   # 10-90 % pitch range: lively speech / beyond any speaking voice
QUIET = 0.22                    # liveliness of audio that is not a speaking voice (music)


def liveliness(feat: AudioFeatures) -> float:
    """How animated the voice is (1 for lively speech): sets the head's overall spread.

    Speakers who vary their pitch widely move their head more, so within
    the range of a speaking voice the 10-90 % pitch range in semitones,
    over 8 semitones (the HDTF speaker: 9.1), scales the motion. A range
    far wider than any speaking voice (lp_d10, a voice over music: 24
    semitones) is not speech prosody; such audio gets a quiet head (QUIET),
    blended in between 12 and 18 semitones. Bounded to QUIET-1.3 so a monotone
    voice still moves a little.
    """
    f0 = feat.f0
    v = f0 > 0
    if v.sum() < 50:
        return 0.5
    st = 12 * np.log2(f0[v] / np.median(f0[v]))
    span = float(np.percentile(st, 90) - np.percentile(st, 10))
    lo, hi = SPEECH_RANGE_ST
    speech = float(np.clip((hi - span) / (hi - 12.0), 0, 1))
    return float(np.clip(speech * np.clip(span / lo, 0.5, 1.3) + (1 - speech) * QUIET, QUIET, 1.3))


def breathing(n: int, fps: float, rng: np.random.Generator, period: tuple[float, float]) -> np.ndarray:
    """A breathing cycle in -1..1: slow rise, quicker fall, each breath a little different."""
    phase = np.zeros(n)
    ph = rng.uniform(0, 1)
    step = 1 / (fps * rng.uniform(*period))
    for i in range(n):
        phase[i] = ph
        ph += step
        if ph >= 1:
            ph -= 1
            step = 1 / (fps * rng.uniform(*period))
    # inhale 40 % of the cycle, exhale the rest: an asymmetric, smooth wave
    x = np.where(phase < 0.4, phase / 0.4, 1 - (phase - 0.4) / 0.6)
    return (2 * (0.5 - 0.5 * np.cos(np.pi * x)) - 1).astype(np.float32)


def head_motion(feat: AudioFeatures, fps: float, n: int, rng: np.random.Generator,
                energy: np.ndarray, alignment: Alignment | None = None,
                settings: HeadSettings | None = None) -> tuple[np.ndarray, list[Accent]]:
    """(n, 6) head track (degrees, face-width fractions) and the accents used.

    ``energy`` (per frame, 0..3) scales every amplitude: the user's head
    motion amount times arousal from the emotion stage. 0 leaves the head
    exactly still. The voice's liveliness sets the spread of the drift and
    of the speech-paced motion; breathing and a slow sway keep the head
    alive in pauses, where the faster motion fades.
    """
    s = settings or HeadSettings()
    energy = np.asarray(energy, np.float32)
    voiced = feat.at_fps(feat.voiced.astype(np.float32), fps, n)
    activity = np.clip(_smooth(voiced, fps * 0.35), 0, 1)
    fast_gain = s.pause_still + (1 - s.pause_still) * activity
    lively = liveliness(feat)
    head = np.zeros((n, 6), np.float32)
    slow = tuple(fps * x for x in s.slow_s)
    fast = tuple(fps * x for x in s.fast_s)
    for col, amp in enumerate(s.drift_deg):
        drift = _pink(n, rng, slow) * (0.5 + 0.2 * activity)
        quick = _pink(n, rng, fast) * s.fast_share * fast_gain
        both = drift + quick
        # the spread is the point (it is what a viewer compares): set it exactly
        head[:, col] = amp * lively * both / (np.std(both) + 1e-6)
    accents = merge_accents(pitch_accents(feat) + stress_accents(feat, alignment), s.min_gap_s)
    for a in accents:
        # a nod starts just before the accent; size and timing vary a little
        k = a.strength * rng.lognormal(0, 0.3)
        t0 = a.t - 0.08 + rng.normal(0, 0.03)
        tau = rng.uniform(0.1, 0.16)
        p = _pulse(n, fps, t0, tau)
        head[:, 1] -= s.nod_deg * k * p
        if rng.random() < 0.45:  # sometimes a tilt or turn goes with it
            head[:, 2 if rng.random() < 0.6 else 0] += s.tilt_deg * k * rng.choice((-1, 1)) * \
                _pulse(n, fps, t0 + 0.03, tau * 1.6)
    breath = breathing(n, fps, rng, s.breath_s)
    head[:, 1] += s.breath_deg * breath
    # a concession to the renderer, not to real speakers: it parts closed lips when the chin
    # is lifted far (a KatieHill p/b/m read open at +13 deg, closed at +8), so lifts are
    # softly limited to chin_up_deg while dips keep their size. The real speakers lift the
    # chin as far or further (2-98 % of pitch: HDTF 12.6 up / 10.1 down, lp_d10 8.5 / 3.4)
    p = head[:, 1]
    head[:, 1] = np.where(p > 0, s.chin_up_deg * np.tanh(p / s.chin_up_deg), p)
    for col, lim in enumerate(s.limits_deg):
        head[:, col] = np.clip(head[:, col] * energy, -lim * np.maximum(energy, 1e-6), lim * np.maximum(energy, 1e-6))
    # above amount 1 the turns grow past what the mesh renderer carries cleanly: combined
    # past about 20 deg it smears the background beside the hair (lp_s1 at yaw -20, pitch
    # -15, roll 6: its watermark doubled). There the rotation as a whole bends softly
    # towards max_turn_deg, blended in from amount 1 (untouched) to amount 2 (fully).
    if s.turn_cap > 0:
        rot = head[:, :3]
        norm = np.linalg.norm(rot, axis=1)
        knee, top = s.turn_knee_deg, s.max_turn_deg
        soft = np.where(norm > knee, knee + (top - knee) * np.tanh((norm - knee) / (top - knee)), norm)
        scale = 1 + s.turn_cap * (soft / np.maximum(norm, 1e-6) - 1)
        head[:, :3] = rot * scale[:, None]
    # translations follow the rotations a little (the neck, not the nose, is the pivot);
    # a breath lifts the head slightly and the body sways slowly from side to side
    head[:, 3] = (_pink(n, rng, (fps * 3,)) * 0.004 + head[:, 0] / np.maximum(energy, 1e-6) * 0.0008) * energy
    head[:, 4] = (_pink(n, rng, (fps * 3,)) * 0.003 - breath * 0.002) * energy - head[:, 1] * 0.0008
    # the video opens on the photo as it is: the motion grows in over the first moments
    x = np.clip(np.arange(n) / (fps * s.ease_in_s), 0, 1)
    head *= (x * x * (3 - 2 * x))[:, None].astype(np.float32)
    return head, accents
