"""Audio-to-motion: speech (+ emotion, scene cues) -> MotionTrack.

Two mouth paths:
- *phones* (an alignment with phones, source "forced" or "asr"): visemes
  with coarticulation (``core.motion.visemes``), jaw modulated by loudness
  inside each phone, lips shut at every p/b/m;
- *acoustic* (no words: other languages, singing, a failed alignment):
  jaw follows loudness inside voiced stretches, rounding/spreading follow
  the spectral shape, lips rest (close) in pauses.

Head motion comes from prosody (``core.motion.head``), blinks from a
renewal process pulled towards phrase ends, gaze from small saccades; all
of it is deterministic for ``A2MSettings.seed``. The emotion stage and
scene cues act on the returned track afterwards (core.pipeline); the
settings below are the knobs they may turn before A2M runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.motion.head import HeadSettings, head_motion
from core.motion.visemes import VisemeSettings, coarticulate, enforce_bilabials, jaw_loudness
from core.speech.features import AudioFeatures
from core.tracks import Alignment, EmotionTrack, MotionTrack

LIP_LEAD_FRAMES = 2.0  # real lips lead the sound by ~1-2 frames at 25 fps


HEAD_MOTION_RANGE = (0.0, 2.0)   # 0 = still, 1 = a real speaker's spread, 2 = lively
BLINK_RATE_RANGE = (0.0, 60.0)   # blinks per minute; 0 = never
DEFAULT_BLINK_RATE = 17.0        # adults talking: 10-25/min (HDTF speaker 22.5, lp_d10 8 over short clips)


@dataclass
class A2MSettings:
    """Inputs other stages may set (emotion, scene cues, user settings)."""

    seed: int = 0
    head_motion: float = 1.0     # user amount: 0 still, 1 natural, 2 lively (scales every head path)
    blink_rate: float = DEFAULT_BLINK_RATE   # blinks per minute at neutral arousal
    mouth_gain: float = 1.0      # scales the speech units (articulation strength)
    nod_gain: float = 1.0        # scales nods/tilts on accents (0 = drift only)
    use_phones: bool = True      # False: acoustic mouth even when phones are known


def check_motion_settings(head_motion: float, blink_rate: float, where: str | None = None) -> None:
    """Raise UserInputError naming the setting and its range (CLI, project and app share it)."""
    from core.errors import UserInputError

    lo, hi = HEAD_MOTION_RANGE
    if not (isinstance(head_motion, (int, float)) and np.isfinite(head_motion) and lo <= head_motion <= hi):
        raise UserInputError(f"head motion {head_motion!r} is out of range.", where,
                             f"Use {lo:g}..{hi:g} (0 = still, 1 = natural, 2 = lively).")
    lo, hi = BLINK_RATE_RANGE
    if not (isinstance(blink_rate, (int, float)) and np.isfinite(blink_rate) and lo <= blink_rate <= hi):
        raise UserInputError(f"blink rate {blink_rate!r} is out of range.", where,
                             f"Use {lo:g}..{hi:g} blinks per minute (real speakers blink 10-25).")


def _smooth(x: np.ndarray, frames: float) -> np.ndarray:
    if frames <= 0:
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x.astype(np.float64), frames, mode="nearest").astype(np.float32)


def mouth_from_audio(feat: AudioFeatures, fps: float, n: int) -> dict[str, np.ndarray]:
    """The six speech units predicted from the audio alone, no words needed.

    A small model (``core.motion.acoustic_mouth``) trained to reproduce
    the phone path's viseme curves from loudness and spectral shape over
    +-90 ms of context, on forced-aligned English and espeak-ng speech in
    eight languages with music and noise mixed in. The hand-made
    mapping it replaced (1-3 kHz share times loudness) followed the real
    singer on lp_d10 less well than loudness alone (docs/a2m.md). Missing
    or damaged weights raise ``AcousticWeightsError`` naming the file.
    """
    from core.motion.acoustic_mouth import mouth_curves

    return mouth_curves(feat, fps, n)


def blinks(n: int, fps: float, rng: np.random.Generator, rate_per_min: float,
           pauses: np.ndarray | None = None) -> np.ndarray:
    """Blink weight per frame: a renewal process with a refractory period.

    Intervals are gamma-distributed around 60/rate seconds (regular enough to
    look natural, never periodic); pause onsets pull a blink forward. Each
    blink closes in ~70 ms, holds ~30 ms and reopens in ~130 ms.
    """
    w = np.zeros(n, np.float32)
    if rate_per_min <= 0:
        return w                      # the user asked for no blinks
    mean_gap = 60.0 / rate_per_min
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
        t += max(min(1.2, 0.6 * mean_gap), rng.gamma(4.0, mean_gap / 4.0))
    return w


def gaze_motion(n: int, fps: float, rng: np.random.Generator,
                pauses: np.ndarray | None = None) -> np.ndarray:
    """Fixations joined by quick saccades: near the camera while talking, wandering in pauses.

    Speakers hold the listener's eye while they talk and look away while
    they think (the pauses between phrases), so a fixation that starts in a
    pause is shorter and more often an aversion. Each jump takes about two
    frames (a saccade lasts 30-60 ms); nothing moves in between, as with
    real eyes.
    """
    g = np.zeros((n, 2), np.float32)
    quiet = np.zeros(n, bool) if pauses is None else np.asarray(pauses, bool)[:n]
    t = 0
    here = np.zeros(2, np.float32)
    while t < n:
        in_pause = bool(quiet[min(t, len(quiet) - 1)]) if len(quiet) else False
        hold = int(fps * (rng.uniform(0.3, 1.5) if in_pause else rng.uniform(0.5, 2.5)))
        r = rng.random()
        if r < (0.55 if in_pause else 0.2):      # look away: aside or down
            here = rng.normal(0, [0.35, 0.18]).astype(np.float32)
        elif r < 0.75:                            # a small correction near the camera
            here = rng.normal(0, [0.08, 0.04]).astype(np.float32)
        else:
            here = np.zeros(2, np.float32)
        g[t:t + max(hold, 2)] = here
        t += max(hold, 2)
    return np.stack([_smooth(g[:, 0], 0.7), _smooth(g[:, 1], 0.7)], 1)


def mouth_from_phones(feat: AudioFeatures, fps: float, n: int, alignment: Alignment,
                      vis: VisemeSettings | None = None) -> dict[str, np.ndarray]:
    """The six speech units from the aligned phones (coarticulated)."""
    loud = jaw_loudness(feat.rms_db, feat.voiced)
    return coarticulate(alignment.phones, n, fps, loud, vis)


def mouth_acoustic(feat: AudioFeatures, fps: float, n: int) -> dict[str, np.ndarray]:
    """Language-independent mouth (singing, other languages, failed alignment).

    The model's curves already hold what the phone path does in pauses
    (lips at rest, parting before speech resumes) and the lip lead, because
    it learned them from that path; nothing is added on top.
    """
    return mouth_from_audio(feat, fps, n)


def has_phones(alignment: Alignment | None) -> bool:
    """Timed phones to drive visemes (forced, recognised, or edited by the user)."""
    return bool(alignment is not None and any(p.label != "SIL" for p in alignment.phones))


def audio_to_motion(feat: AudioFeatures, fps: float, n_frames: int,
                    emotion: EmotionTrack | None = None,
                    settings: A2MSettings | None = None,
                    alignment: Alignment | None = None) -> MotionTrack:
    """Speech -> MotionTrack; every output series is deterministic for a seed.

    With phones in ``alignment`` the mouth comes from visemes, else from
    the acoustics. Emotion arousal scales head motion and blink rate.
    """
    s = settings or A2MSettings()
    rng = np.random.default_rng(s.seed)
    track = MotionTrack.rest(n_frames, fps)
    phones = s.use_phones and has_phones(alignment)
    if phones:
        mouth = mouth_from_phones(feat, fps, n_frames, alignment)
    else:
        mouth = mouth_acoustic(feat, fps, n_frames)
    for name, w in mouth.items():
        gain = 1.0 if name == "lip_close" else s.mouth_gain  # closures stay complete
        track.unit(name)[:] = np.clip(w * gain, 0, 1)
    if phones:
        enforce_bilabials(track, alignment.phones)
    arousal = emotion.arousal if emotion is not None else np.zeros(n_frames, np.float32)
    arousal = np.asarray(arousal, np.float32)[:n_frames]
    if len(arousal) < n_frames:
        arousal = np.pad(arousal, (0, n_frames - len(arousal)), mode="edge" if len(arousal) else "constant")
    energy = s.head_motion * (1.0 + 0.5 * np.clip(arousal, -1, 1))
    voiced = feat.at_fps(feat.voiced.astype(np.float32), fps, n_frames) > 0.5
    rate = s.blink_rate * (1.0 + 0.3 * float(np.mean(arousal)))
    track.unit("eye_blink")[:] = blinks(n_frames, fps, rng, rate, pauses=~voiced)
    head_set = HeadSettings()
    head_set.nod_deg *= s.nod_gain
    head_set.tilt_deg *= s.nod_gain
    head_set.turn_cap = float(np.clip(s.head_motion - 1.0, 0.0, 1.0))
    track.head[:], _ = head_motion(feat, fps, n_frames, rng, energy, alignment, head_set)
    track.gaze[:] = gaze_motion(n_frames, fps, rng, pauses=~voiced)
    return track
