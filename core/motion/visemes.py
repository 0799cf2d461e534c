"""Phone-driven mouth: visemes with coarticulation (the script path of A2M).

Each phone has a target for the six speech units and a *dominance* per
unit: how strongly it imposes that target on its neighbours (after Cohen &
Massaro's coarticulation model). A unit's value at time t is the
dominance-weighted mean of the targets of the phones around t, so

- consonants that do not involve the lips (t, d, k, s...) have little say
  over rounding: an "s" before "oo" is already rounded (anticipation);
- bilabials (p, b, m) dominate closure and jaw completely, and a hard
  pass afterwards guarantees the lips meet at every one of them;
- f/v dominate the labiodental unit; rounded vowels spread rounding over
  the consonants around them, wider before the vowel than after it.

The jaw then follows loudness inside each phone (louder = more open, so
stressed syllables open more than reduced ones), and everything is moved
``LEAD_S`` earlier: the lips start moving before the sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.tracks import Phone

RATE = 100.0      # internal time grid (Hz), averaged down to video frames
JAW_SCALE = 1.1   # see VisemeSettings.jaw_scale
LEAD_S = 0.08     # lips lead the acoustic phone boundaries by about 2 frames
# Lips at rest in a pause: shut. On the HDTF dev clip the speaker's inner-lip gap
# reads 0.00 through her 0.6-s pause (and MEAD M030's 5th percentile is 0.004 eye
# widths); at 0.7 (with dominance 0.5) a portrait photographed mid-word kept 0.03-0.05
# of its own gap open in every pause (docs/a2m.md, "Closing in the pauses").
REST_CLOSE = 1.0
SPEECH_UNITS = ("jaw_open", "lip_round", "lip_stretch", "lip_close", "labiodental", "tongue_show")

# phone -> (jaw, round, stretch, close, labiodental, tongue)
_TARGETS: dict[str, tuple[float, ...]] = {
    "AA": (0.95, 0, 0, 0, 0, 0), "AE": (0.80, 0, 0.3, 0, 0, 0), "AH": (0.65, 0, 0, 0, 0, 0),
    "AO": (0.75, 0.5, 0, 0, 0, 0), "AW": (0.75, 0.35, 0, 0, 0, 0), "AY": (0.80, 0, 0.2, 0, 0, 0),
    "EH": (0.55, 0, 0.3, 0, 0, 0), "ER": (0.35, 0.45, 0, 0, 0, 0), "EY": (0.50, 0, 0.45, 0, 0, 0),
    "IH": (0.35, 0, 0.4, 0, 0, 0), "IY": (0.25, 0, 0.7, 0, 0, 0), "OW": (0.55, 0.75, 0, 0, 0, 0),
    "OY": (0.60, 0.55, 0, 0, 0, 0), "UH": (0.35, 0.55, 0, 0, 0, 0), "UW": (0.20, 0.95, 0, 0, 0, 0),
    "P": (0, 0, 0, 1, 0, 0), "B": (0, 0, 0, 1, 0, 0), "M": (0, 0, 0, 1, 0, 0),
    "F": (0.08, 0, 0, 0, 1, 0), "V": (0.08, 0, 0, 0, 1, 0),
    "TH": (0.20, 0, 0, 0, 0, 0.8), "DH": (0.18, 0, 0, 0, 0, 0.6),
    "W": (0.10, 0.95, 0, 0, 0, 0), "R": (0.20, 0.45, 0, 0, 0, 0), "L": (0.30, 0, 0, 0, 0, 0.4),
    "S": (0.10, 0, 0.4, 0, 0, 0), "Z": (0.10, 0, 0.4, 0, 0, 0),
    "SH": (0.15, 0.55, 0, 0, 0, 0), "ZH": (0.15, 0.55, 0, 0, 0, 0),
    "CH": (0.15, 0.5, 0, 0, 0, 0), "JH": (0.15, 0.5, 0, 0, 0, 0),
    "T": (0.18, 0, 0, 0, 0, 0), "D": (0.18, 0, 0, 0, 0, 0), "N": (0.18, 0, 0, 0, 0, 0),
    "K": (0.25, 0, 0, 0, 0, 0), "G": (0.25, 0, 0, 0, 0, 0), "NG": (0.25, 0, 0, 0, 0, 0),
    "HH": (0.40, 0, 0, 0, 0, 0), "Y": (0.20, 0, 0.4, 0, 0, 0),
    "SIL": (0, 0, 0, REST_CLOSE, 0, 0),
}
# Inner lips almost meet in these even without a full closure; on a portrait
# whose mouth is open at rest only lip_close can bring the gap down.
_PARTIAL_CLOSE = {"W": 0.9, "F": 0.5, "V": 0.5, "UW": 0.6, "UH": 0.3, "OW": 0.2, "SH": 0.3, "ZH": 0.3, "CH": 0.35,
                  "JH": 0.35, "S": 0.35, "Z": 0.35, "T": 0.3, "D": 0.3, "N": 0.3, "K": 0.25,
                  "G": 0.25, "NG": 0.25, "R": 0.3, "Y": 0.3, "L": 0.2, "TH": 0.1, "DH": 0.15}
for _p, _c in _PARTIAL_CLOSE.items():
    _t = list(_TARGETS[_p])
    _t[3] = _c
    _TARGETS[_p] = tuple(_t)
# carry-over spread (s) per unit: the lips shut and part fast, rounding is slow
_SPREAD = np.array([0.06, 0.09, 0.07, 0.025, 0.02, 0.05])
VOWELS = frozenset(p for p, t in _TARGETS.items() if p[0] in "AEIOU")
BILABIALS = frozenset({"P", "B", "M"})
LABIODENTALS = frozenset({"F", "V"})
ROUNDED = frozenset({"UW", "OW", "OY", "UH", "AO", "W", "ER", "SH", "ZH", "CH", "JH"})


def _dominance(label: str) -> tuple[float, ...]:
    """How strongly a phone imposes each unit's target (same order as targets)."""
    if label in VOWELS:
        return (1.0, 1.0 if label in ROUNDED else 0.5, 0.7, 1.5, 1.5, 1.0)
    if label in BILABIALS:
        return (2.0, 0.3, 0.3, 2.5, 1.0, 0.5)
    if label in LABIODENTALS:
        return (1.5, 0.3, 0.3, 1.0, 2.5, 0.5)
    if label in ("W",):  # rounded lips almost meet: the inner gap nearly shuts
        return (1.5, 3.0, 0.5, 2.5, 0.5, 0.3)
    if label in ("TH", "DH", "L"):
        return (0.6, 0.2, 0.2, 0.5, 0.5, 2.0)
    if label == "SIL":   # the rest closure holds against the phones around it (REST_CLOSE)
        return (0.8, 0.6, 0.6, 1.0, 0.5, 0.5)
    if label == "HH":
        return (0.1, 0.1, 0.1, 0.3, 0.3, 0.1)
    # tongue consonants: some say over the jaw, little over lip shape
    return (0.5, 0.8 if label in ROUNDED else 0.15, 0.3, 0.5, 0.5, 0.3)


@dataclass
class VisemeSettings:
    lead_s: float = LEAD_S
    spread: float = 1.0         # scales the per-unit carry-over spreads (_SPREAD)
    anticipate: float = 1.8     # the anticipatory side reaches this many times further
    loud_gain: float = 0.35     # how much loudness inside a phone modulates the jaw (docs/a2m.md)
    # A SIL shorter than this is a gap inside the phrase, not a rest: the mouth
    # stays on its way between the phones around it (lips apart). KatieHill's
    # lips part 0.30 eye widths through her 0.33-s silence after "district"
    # and shut through her 0.65-s one; at 0.12 ours shut both (mouth r
    # 0.495 -> 0.619 on that clip, docs/a2m.md).
    sil_gap_s: float = 0.35
    pre_open_s: float = 0.2     # the mouth leaves rest this long before speech resumes
    jaw_scale: float = JAW_SCALE  # jaw targets times this (calibrated on real speakers, docs/a2m.md)


def jaw_loudness(rms_db: np.ndarray, voiced: np.ndarray, db_per_unit: float = 36.0) -> np.ndarray:
    """Jaw factor per analysis frame: 1 at the speech's median loudness.

    Lightly smoothed (30 ms) dB relative to the voiced median, so a
    stressed, louder syllable opens more and a reduced one less; bounded to
    0.5..1.4 so a shout or a whisper never breaks the viseme shapes.
    """
    from scipy.ndimage import uniform_filter1d

    db = uniform_filter1d(rms_db.astype(np.float64), 3)
    ref = float(np.median(db[voiced])) if voiced.any() else float(np.median(db))
    return np.clip(1 + (db - ref) / db_per_unit, 0.5, 1.4)


def target(label: str) -> tuple[float, ...]:
    return _TARGETS.get(label.upper().rstrip("012"), _TARGETS["AH"])


def _grid_len(phones: list[Phone], n_frames: int, fps: float) -> int:
    return int(np.ceil(max(n_frames / fps, phones[-1].end if phones else 0) * RATE)) + 2


def coarticulate(phones: list[Phone], n_frames: int, fps: float,
                 loudness: np.ndarray | None = None,
                 settings: VisemeSettings | None = None) -> dict[str, np.ndarray]:
    """Per-video-frame weights of the six speech units from timed phones.

    ``loudness``: optional series at ``RATE`` Hz (the features' rate), a
    jaw factor around 1 (see ``jaw_loudness``) applied inside each phone.
    """
    s = settings or VisemeSettings()
    m = _grid_len(phones, n_frames, fps)
    t = np.arange(m) / RATE
    num = np.zeros((len(SPEECH_UNITS), m))
    den = np.full((len(SPEECH_UNITS), m), 1e-4)
    spread = (_SPREAD * s.spread)[:, None]
    reach = float(spread.max()) * s.anticipate * 4
    for p in phones:
        label = p.label.upper()
        start, end = p.start, p.end
        if label == "SIL":
            if end - start < s.sil_gap_s:
                continue
            # speakers part the lips (and breathe in) before the next phrase
            end = max(start + s.sil_gap_s / 2, end - s.pre_open_s)
        tg = np.asarray(target(label))[:, None]
        dm = np.asarray(_dominance(label))[:, None]
        a = max(0, int((start - reach) * RATE))
        b = min(m, int((end + reach) * RATE) + 1)
        tt = t[a:b]
        # flat top over the phone, exponential tails: longer before it (anticipation)
        before = np.clip(start - tt, 0, None)[None, :] / (spread * s.anticipate)
        after = np.clip(tt - end, 0, None)[None, :] / spread
        d = np.exp(-(before + after) ** 1.5) * dm
        num[:, a:b] += d * tg
        den[:, a:b] += d
    w = num / den
    if loudness is not None and len(loudness):
        loud = np.interp(t, np.arange(len(loudness)) / RATE, loudness)
        w[0] = w[0] * (1 + s.loud_gain * (loud - 1))
    w[0] *= s.jaw_scale
    w = np.clip(w, 0, 1)
    out = {}
    for i, name in enumerate(SPEECH_UNITS):
        out[name] = _to_frames(w[i], n_frames, fps, s.lead_s)
    _force_bilabials(out, phones, n_frames, fps, s.lead_s)
    return out


def _to_frames(x: np.ndarray, n_frames: int, fps: float, lead_s: float) -> np.ndarray:
    """Average the 100 Hz series over each video frame, taken ``lead_s`` earlier."""
    k = max(1, int(round(RATE / fps)))
    sm = np.convolve(x, np.ones(k) / k, mode="same")
    t = (np.arange(n_frames) + 0.5) / fps + lead_s
    return np.interp(t * RATE, np.arange(len(sm)), sm).astype(np.float32)


MIN_CLOSURE_S = 0.08   # real p/b/m closures last 70-120 ms; aligned phones are often shorter


def bilabial_frames(phones: list[Phone], fps: float, n_frames: int,
                    lead_s: float = LEAD_S) -> list[tuple[int, int]]:
    """Frame ranges [a, b] (inclusive) in which each p/b/m must show closed lips.

    The lips are shut during the acoustic closure and reach it a little
    earlier (they lead the sound): every frame whose middle lies in
    [start - lead_s / 2, end] is closed, widened around the phone's middle
    to at least ``MIN_CLOSURE_S`` (the aligner's 30-ms minimum phones are
    shorter than real closures), and at least one frame.
    """
    out = []
    for p in phones:
        if p.label.upper() not in BILABIALS:
            continue
        mid = (p.start + p.end) / 2 - lead_s / 4
        lo = min(p.start - lead_s / 2, mid - MIN_CLOSURE_S / 2)
        hi = max(p.end, mid + MIN_CLOSURE_S / 2)
        a = int(np.ceil(lo * fps - 0.5))
        b = int(np.floor(hi * fps - 0.5))
        if b < a:
            a = b = int(round(mid * fps - 0.5))
        a, b = max(0, a), min(n_frames - 1, b)
        if a <= b:
            out.append((a, b))
    return out


# units that part the lips; at a bilabial closure they give way
_OPENERS = {"jaw_open": 0.0, "lip_round": 0.0, "labiodental": 0.0, "tongue_show": 0.0,
            "upper_lip_raise": 0.3, "nose_wrinkle": 0.3, "lip_stretch": 0.5}
# the lower lip pushes up against the upper one (lip compression in p/b/m); on the
# HDTF dev portrait lip_close alone left a seam mediapipe reads as 0.04 eye widths
CHIN_PUSH = 0.7


def enforce_bilabials(track, phones: list[Phone], lead_s: float = LEAD_S) -> int:
    """After emotion and scene cues: lips shut at every p/b/m, whatever else is on.

    Expression units that open the lips (upper-lip raise, rounding) are
    turned down on those frames only, so a smile or a sneer still shows
    around them. Returns the number of closures enforced.
    """
    ranges = bilabial_frames(phones, track.fps, track.n_frames, lead_s)
    for a, b in ranges:
        track.unit("lip_close")[a:b + 1] = 1.0
        chin = track.unit("chin_raise")
        chin[a:b + 1] = np.maximum(chin[a:b + 1], CHIN_PUSH)
        for name, keep in _OPENERS.items():
            if name in track.units:
                track.unit(name)[a:b + 1] *= keep
    return len(ranges)


def _force_bilabials(w: dict[str, np.ndarray], phones: list[Phone], n_frames: int,
                     fps: float, lead_s: float) -> None:
    """Lips fully shut at every bilabial (the dominance blend only approaches it)."""
    close, jaw = w["lip_close"], w["jaw_open"]
    for a, b in bilabial_frames(phones, fps, n_frames, lead_s):
        close[a:b + 1] = 1.0
        jaw[a:b + 1] = 0.0
        for u in ("labiodental", "tongue_show", "lip_round"):
            w[u][a:b + 1] = 0.0
