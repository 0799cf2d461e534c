"""Read any common audio (or a video's audio track) as 16 kHz mono float32.

Decoding goes through the bundled ffmpeg so wav, mp3, m4a, flac, ogg and mp4
all work the same way on every platform. Errors name the file and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserInputError
from core.io.ffmpeg import run_ffmpeg

SAMPLE_RATE = 16000
MIN_DURATION = 0.3   # seconds; shorter narrations cannot drive a face
SILENCE_DBFS = -55.0  # a narration whose loudest 100 ms is below this is silent


@dataclass
class Audio:
    """Mono PCM at ``sample_rate`` plus where it came from."""

    samples: np.ndarray  # float32 in [-1, 1]
    sample_rate: int
    path: str

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def decode_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode to mono float32; raise UserInputError if it is not audio."""
    path = Path(path)
    if not path.exists():
        raise UserInputError("audio file not found.", path, "Check the path.")
    if path.is_dir():
        raise UserInputError("is a folder, not an audio file.", path, "Pick an audio file.")
    if path.stat().st_size == 0:
        raise UserInputError("the audio file is empty (0 bytes).", path,
                             "Pick the recording itself; this may be an unfinished copy or download.")
    proc = run_ffmpeg(["-v", "error", "-i", str(path), "-vn", "-map", "0:a:0?", "-ac", "1",
                       "-ar", str(sample_rate), "-f", "f32le", "-"])
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    if proc.returncode != 0 or data.size == 0:
        _explain_no_audio(path)
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        hint = reason[-1] if reason else "no audio stream"
        raise UserInputError(
            f"cannot read audio ({hint[:120]}).", path,
            "Use a WAV, MP3, M4A, FLAC or OGG file, or a video with an audio track.",
        )
    return data.copy()


_IMAGE_FORMATS = re.compile(r"Input #0, (image2|\w+_pipe|gif|webp)\b")


def _explain_no_audio(path: Path) -> None:
    """Say in words why a file gave no audio (an image, a silent video) instead of ffmpeg's
    "Error opening output files: Invalid argument"; return if the reason is something else."""
    text = run_ffmpeg(["-i", str(path)]).stderr.decode("utf-8", "replace")
    streams = re.findall(r"Stream #\S+.*?: (Video|Audio): (\w+)", text)
    if any(kind == "Audio" for kind, _ in streams):
        return
    if _IMAGE_FORMATS.search(text):
        raise UserInputError("is an image, not audio.", path,
                             "Use the picture as the portrait (--image) and a recording as the narration.")
    if any(kind == "Video" for kind, _ in streams):
        raise UserInputError("the video has no audio track.", path,
                             "Pick a video with sound, or its separate audio recording.")


def media_duration(path: str | Path) -> float | None:
    """A recording's length in seconds from its container header (one ffmpeg call, nothing decoded);
    None when the file does not say (or is not media: decoding it reports that properly)."""
    import subprocess

    try:
        text = run_ffmpeg(["-i", str(path)], timeout=30).stderr.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if not m:
        return None
    h, mi, sec = m.groups()
    return int(h) * 3600 + int(mi) * 60 + float(sec)


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Load a narration and check it is long enough and not silent."""
    samples = decode_audio(path, sample_rate)
    if len(samples) < MIN_DURATION * sample_rate:
        raise UserInputError(
            f"audio is only {len(samples) / sample_rate:.2f} s long.", path,
            f"Use a narration of at least {MIN_DURATION} s.",
        )
    hop = sample_rate // 10
    n = len(samples) // hop
    rms = np.sqrt(np.mean(samples[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    peak_db = 20 * np.log10(float(rms.max()) + 1e-12)
    if peak_db < SILENCE_DBFS:
        raise UserInputError(
            f"audio is silent (loudest part {peak_db:.0f} dBFS).", path,
            "Check the recording level or pick another file.",
        )
    return Audio(samples=samples, sample_rate=sample_rate, path=str(path))
