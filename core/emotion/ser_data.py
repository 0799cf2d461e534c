"""The labelled emotional-speech corpora the SER model is trained on.

Reads the layout documented in ``../shared/data/README.md``: RAVDESS
(``ravdess/Actor_NN/03-01-EE-II-SS-RR-AA.flac``) and TESS
(``tess/<OAF|YAF>_<emotion>/*.flac``). Speakers are kept with each clip so
evaluation can hold out whole actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import UserInputError

# The model's own classes: RAVDESS's eight. "calm" is merged into neutral
# when the track is built (tracks.EMOTIONS has no calm); contempt is absent
# from speech data, so SER never votes for it.
SER_CLASSES: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgusted", "surprised",
)
_RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
            "06": "fearful", "07": "disgusted", "08": "surprised"}
_TESS = {"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
         "neutral": "neutral", "pleasant_surprise": "surprised",
         "pleasant_surprised": "surprised", "sad": "sad"}


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    speaker: str      # "ravdess-07", "tess-OAF"
    corpus: str       # "ravdess" | "tess"
    intensity: int = 1  # RAVDESS: 1 normal, 2 strong


def list_clips(root: str | Path) -> list[Clip]:
    """All labelled clips under ``root`` (the emotion_speech folder)."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError("training data folder not found.", root,
                             "Point --data at a folder holding ravdess/ and/or tess/.")
    clips: list[Clip] = []
    for p in sorted((root / "ravdess").glob("Actor_*/*")):
        if p.suffix.lower() not in (".wav", ".flac"):
            continue
        parts = p.stem.split("-")
        if len(parts) != 7 or parts[2] not in _RAVDESS:
            continue
        clips.append(Clip(p, _RAVDESS[parts[2]], f"ravdess-{parts[6]}", "ravdess", int(parts[3])))
    for d in sorted((root / "tess").glob("*_*")):
        spk, _, emo = d.name.partition("_")
        label = _TESS.get(emo.lower())
        if label is None or not d.is_dir():
            continue
        for p in sorted(d.glob("*")):
            if p.suffix.lower() in (".wav", ".flac"):
                clips.append(Clip(p, label, f"tess-{spk}", "tess"))
    if not clips:
        raise UserInputError("no RAVDESS or TESS clips found.", root,
                             "Expected ravdess/Actor_NN/*.flac or tess/<OAF|YAF>_<emotion>/*.flac.")
    return clips


def read_clip(path: Path):
    """16 kHz mono float32 samples (soundfile first: faster than ffmpeg)."""
    import numpy as np

    try:
        import soundfile as sf

        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        x = x.mean(1)
        if sr != 16000:
            import librosa

            x = librosa.resample(x, orig_sr=sr, target_sr=16000)
        return np.ascontiguousarray(x, np.float32)
    except Exception:
        from core.io.audio import decode_audio

        return decode_audio(path)
