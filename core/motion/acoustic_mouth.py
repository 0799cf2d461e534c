"""Acoustic-to-mouth model: the six speech units from audio alone (no words).

Why: when a narration has no recognisable English words (singing, another
language, humming) there are no phones to drive the visemes. A hand-made
mapping from loudness and spectral balance followed the real singer on
lp_d10 worse than the loudness envelope itself (docs/a2m.md). This model
instead learns the mapping from the project's own phone path: speech whose
words are known (RAVDESS/TESS sentences, forced-aligned) and espeak-ng
speech in several languages (phones known exactly) is turned into viseme
curves by ``core.motion.visemes.coarticulate``, and a small model learns
to predict those curves from the acoustic series the fallback already has
(``AudioFeatures``: loudness, spectral centroid, flatness, band shares,
voicing, and 40 log-mel bands, which are what let it hear a voice's
formants above an accompaniment) over +-90 ms of context. The shipped
model is the simplest that held up on music: one affine map per unit with
a sigmoid (hidden layers fitted held-out speech better and music worse;
docs/a2m.md). Training lives in
``core.motion.acoustic_train`` (``synchrorama train-mouth``; torch, training only); inference here is
plain NumPy on weights stored as ``.npz`` with a sha256 manifest, checked
before every first load. A missing or damaged file raises
``AcousticWeightsError`` naming it: the renderer never silently falls back.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.emotion.ser import WeightsError, sha256_bytes
from core.speech.features import N_MELS, AudioFeatures

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_NAME = "acoustic_mouth_v2.npz"
MANIFEST_NAME = "acoustic_mouth_v2.json"
UNITS = ("jaw_open", "lip_round", "lip_stretch", "lip_close", "labiodental", "tongue_show")
INPUTS = ("loud", "loud_range", "dloud", "log_centroid", "centroid_rel", "log_flatness", "low", "mid",
          "mid_db_rel", "high", "voiced") + tuple(f"mel{i:02d}_rel" for i in range(N_MELS))
# context taps in 10-ms frames: the teacher curves lead the sound by 80 ms, so
# the model hears 90 ms of the future as well as of the past. Wider context
# (+-0.3 s) fitted speech better but learned its syllable rhythm, which
# music does not share (docs/a2m.md).
OFFSETS = tuple(range(-9, 10, 3))
CHUNK = 6000  # frames predicted at once (60 s): memory stays bounded for long narrations


class AcousticWeightsError(WeightsError):
    """The acoustic mouth weights are missing or do not match their manifest."""


def frame_inputs(feat: AudioFeatures) -> np.ndarray:
    """(T, len(INPUTS)) per-10-ms inputs, normalised per recording.

    Loudness is given twice: relative to the recording's loud frames (95th
    percentile) and scaled to its own range (10th..95th percentile), so a
    song whose accompaniment never stops still shows where the voice swells;
    centroid and the 1-3 kHz share are also given relative to the
    recording's median. Each log-mel band is given relative to its median
    over the recording's voiced frames (in 10-dB steps), so a gain change or
    a steady accompaniment cancels and what remains is where this moment's
    spectrum departs from the recording's usual one (a voice's formants
    rising over the band). Pitch is left out: sung melodies move it far
    beyond speech, and with it the model followed lp_d10 worse (docs/a2m.md).
    Raises ``ValueError`` when the features carry no log-mel bands.
    """
    if feat.mel_db is None or np.shape(feat.mel_db) != (len(feat.rms_db), N_MELS):
        raise ValueError(f"the acoustic mouth needs AudioFeatures.mel_db of shape ({len(feat.rms_db)}, {N_MELS}); "
                         f"got {None if feat.mel_db is None else np.shape(feat.mel_db)}: compute the features "
                         "with core.speech.features.analyse_audio.")
    rms = np.asarray(feat.rms_db, np.float64)
    T = len(rms)
    if T == 0:
        return np.zeros((0, len(INPUTS)), np.float32)
    hi = float(np.percentile(rms, 95))
    lo = float(np.percentile(rms, 10))
    rel = np.clip(rms - hi, -60.0, 6.0)
    loud = rel / 20.0
    loud_range = np.clip((rms - lo) / max(hi - lo, 3.0), -0.5, 1.5)
    dloud = np.gradient(rel) / 6.0 if T > 1 else np.zeros_like(rms)
    voiced = np.asarray(feat.voiced, bool)
    ref = voiced if voiced.sum() > 10 else np.ones(T, bool)
    cen = np.log2(np.maximum(np.asarray(feat.centroid, np.float64), 50.0) / 1500.0)
    cen_rel = cen - float(np.median(cen[ref]))
    flat = np.log10(np.maximum(np.asarray(feat.flatness, np.float64), 1e-6)) / 3.0
    low = np.asarray(feat.low_ratio, np.float64)
    mid = np.asarray(feat.mid_ratio, np.float64) if feat.mid_ratio is not None else np.clip(1 - low, 0, 1) / 2
    mid_db = 10 * np.log10(mid + 1e-6)
    mid_rel = np.clip(mid_db - float(np.median(mid_db[ref])), -20, 20) / 10.0
    high = np.clip(1.0 - low - mid, 0.0, 1.0)
    mel = np.asarray(feat.mel_db, np.float32)
    mel_rel = np.clip((mel - np.median(mel[ref], axis=0)) / 10.0, -4.0, 4.0)
    X = np.stack([loud, loud_range, dloud, cen, cen_rel, flat, low, mid, mid_rel, high,
                  voiced.astype(np.float64)], 1)
    return np.concatenate([X.astype(np.float32), mel_rel.astype(np.float32)], 1)


def with_context(X: np.ndarray, offsets: tuple[int, ...] = OFFSETS) -> np.ndarray:
    """(T, D * len(offsets)): each frame next to its neighbours (edges repeated).

    Inputs are first averaged over 3 frames so a tap every 3 frames sees
    every frame once.
    """
    from scipy.ndimage import uniform_filter1d

    Xs = uniform_filter1d(X.astype(np.float32), 3, axis=0, mode="nearest") if len(X) > 1 else X
    T = len(X)
    idx = np.clip(np.arange(T)[:, None] + np.asarray(offsets)[None, :], 0, max(T - 1, 0))
    return Xs[idx].reshape(T, -1)


@dataclass
class AcousticMouthModel:
    """Standardiser + affine layers (tanh between them, sigmoid out) over context frames.

    ``layers`` may hold one layer (the shipped logistic-linear model) or more.
    ``spread`` (per unit) widens the curves about each recording's median
    before they drive the face: a regression hedges, so its curves move
    less than the phone path's (jaw: 0.83 of its within-clip std on
    held-out RAVDESS), and the rendered mouth on lp_d10 moved less than the
    singer's. The factors are the teacher's over the model's within-clip
    std on the training speech, fixed at training time, not fitted to any
    clip (``acoustic_train.spread_factors``).
    """

    mu: np.ndarray
    sd: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]  # (W (out, in), b (out,))
    offsets: tuple[int, ...] = OFFSETS
    units: tuple[str, ...] = UNITS
    manifest: dict = field(default_factory=dict)
    spread: np.ndarray = field(default_factory=lambda: np.ones(len(UNITS), np.float32))

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """Unit weights 0..1 for context rows ``Z`` (already with context)."""
        h = (Z - self.mu) / self.sd
        for i, (W, b) in enumerate(self.layers):
            h = h @ W.T + b
            if i < len(self.layers) - 1:
                h = np.tanh(h)
        return 1.0 / (1.0 + np.exp(-h))

    def predict(self, feat: AudioFeatures) -> np.ndarray:
        """(T, len(units)) at the features' 100 Hz rate, computed in bounded chunks."""
        X = frame_inputs(feat)
        T = len(X)
        out = np.zeros((T, len(self.units)), np.float32)
        pad = max(abs(o) for o in self.offsets) + 2
        for a in range(0, T, CHUNK):
            lo, hi = max(0, a - pad), min(T, a + CHUNK + pad)
            Z = with_context(X[lo:hi], self.offsets)
            out[a:min(T, a + CHUNK)] = self.forward(Z[a - lo:a - lo + min(CHUNK, T - a)])
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        arr = {"mu": np.asarray(self.mu, np.float32), "sd": np.asarray(self.sd, np.float32),
               "offsets": np.asarray(self.offsets, np.int32), "spread": np.asarray(self.spread, np.float32)}
        for i, (W, b) in enumerate(self.layers):
            arr[f"W{i}"] = np.asarray(W, np.float32)
            arr[f"b{i}"] = np.asarray(b, np.float32)
        return arr


def save_model(model: AcousticMouthModel, directory: Path, manifest: dict) -> Path:
    """Write the ``.npz`` (plain float arrays) and a manifest holding its sha256."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WEIGHTS_NAME
    with open(path, "wb") as f:
        np.savez(f, **model.arrays())
    manifest = dict(manifest)
    manifest.update({"file": WEIGHTS_NAME, "sha256": sha256_bytes(path), "bytes": path.stat().st_size,
                     "units": list(model.units), "inputs": list(INPUTS), "offsets": list(model.offsets),
                     "format": "npz (float32/int32 arrays, no pickles)"})
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


_cache: dict[str, AcousticMouthModel] = {}
_lock = threading.Lock()


def load_model(directory: Path | None = None) -> AcousticMouthModel:
    """The shipped (or retrained) model, after checking the file against its sha256."""
    directory = Path(directory or WEIGHTS_DIR)
    key = str(directory.resolve())
    with _lock:
        if key in _cache:
            return _cache[key]
        retrain = "retrain with `synchrorama train-mouth --data DIR`"
        mpath = directory / MANIFEST_NAME
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AcousticWeightsError(f"acoustic mouth manifest missing: {mpath}; reinstall or "
                                       f"{retrain}.") from None
        except json.JSONDecodeError as e:
            raise AcousticWeightsError(f"acoustic mouth manifest {mpath} is damaged ({e}); reinstall or "
                                       f"{retrain}.") from None
        wpath = directory / str(manifest.get("file", WEIGHTS_NAME))
        if not wpath.is_file():
            raise AcousticWeightsError(f"acoustic mouth weights missing: {wpath}; reinstall or {retrain}.")
        digest = sha256_bytes(wpath)
        if digest != manifest.get("sha256"):
            raise AcousticWeightsError(
                f"acoustic mouth weights {wpath} do not match their manifest sha256 "
                f"({digest[:12]} != {str(manifest.get('sha256'))[:12]}): the file is damaged or was "
                f"replaced; reinstall or {retrain}.")
        with np.load(wpath, allow_pickle=False) as z:
            n = sum(1 for k in z.files if k.startswith("W"))
            layers = [(z[f"W{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32)) for i in range(n)]
            if "spread" not in z.files:
                raise AcousticWeightsError(f"acoustic mouth weights {wpath} have no 'spread' array (an older "
                                           f"format); {retrain}.")
            model = AcousticMouthModel(z["mu"].astype(np.float32), z["sd"].astype(np.float32), layers,
                                       tuple(int(o) for o in z["offsets"]),
                                       tuple(manifest.get("units", UNITS)), manifest,
                                       z["spread"].astype(np.float32))
        if model.units != UNITS or layers[0][0].shape[1] != len(INPUTS) * len(model.offsets):
            raise AcousticWeightsError(f"acoustic mouth weights {wpath} were trained for other inputs or "
                                       f"units than this version reads; {retrain}.")
        _cache[key] = model
        return model


def to_video_frames(series: np.ndarray, rate: float, fps: float, n: int) -> np.ndarray:
    """Average a ``rate``-Hz series over each video frame's span."""
    k = max(1, int(round(rate / fps)))
    sm = np.convolve(np.asarray(series, np.float64), np.ones(k) / k, mode="same") if len(series) else \
        np.zeros(1)
    t = (np.arange(n) + 0.5) / fps * rate
    return np.interp(t, np.arange(len(sm)), sm).astype(np.float32)


def mouth_curves(feat: AudioFeatures, fps: float, n: int,
                 model: AcousticMouthModel | None = None) -> dict[str, np.ndarray]:
    """The six speech units per video frame, predicted from the audio alone.

    Each unit is widened about the recording's median by the model's
    ``spread`` (see ``AcousticMouthModel``), then limited to 0..1.
    """
    model = model or load_model()
    pred = model.predict(feat)
    centre = np.median(pred, axis=0) if len(pred) else np.zeros(len(model.units), np.float32)
    pred = centre + (pred - centre) * np.asarray(model.spread, np.float32)
    pred = centre + (pred - centre) * range_gain(pred[:, model.units.index("jaw_open")])
    return {u: np.clip(to_video_frames(pred[:, i], feat.rate, fps, n), 0, 1)
            for i, u in enumerate(model.units)}


# Range control: on a voice over music the model hedges the whole clip: the
# widened jaw's 5th-95th percentile range (100 Hz) is 0.36 on lp_d10, against
# 0.56-0.81, median 0.65, on 14 held-out speech recordings (12 of RAVDESS
# actor 20, held out of training, and the two radio narrations), and the
# face barely moves. Like loudness normalisation, a recording whose jaw
# range falls short of a speaking voice's is widened up to that range (never
# narrowed, at most x MAX_RANGE_GAIN). The target comes from speech, not
# from the singing clip it was prompted by.
SPEECH_JAW_RANGE = 0.65
MAX_RANGE_GAIN = 2.0


def range_gain(jaw: np.ndarray) -> float:
    """Extra widening for a recording whose predicted jaw range is narrower than speech's."""
    if len(jaw) < 10:
        return 1.0
    r = float(np.percentile(jaw, 95) - np.percentile(jaw, 5))
    return float(np.clip(SPEECH_JAW_RANGE / max(r, 1e-3), 1.0, MAX_RANGE_GAIN))
