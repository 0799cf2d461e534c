from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserInputError
from core.io.audio import decode_audio, load_audio
from core.io.ffmpeg import run_ffmpeg
from tests.conftest import write_wav


@pytest.mark.parametrize("ext,codec", [("wav", []), ("mp3", ["-c:a", "libmp3lame"]),
                                       ("flac", []), ("ogg", ["-c:a", "libvorbis"]),
                                       ("m4a", ["-c:a", "aac"])])
def test_common_containers_decode_to_16k_mono(tmp_path, sample_audio, ext, codec):
    out = tmp_path / f"n.{ext}"
    proc = run_ffmpeg(["-y", "-i", str(sample_audio), "-t", "2", "-ar", "44100", "-ac", "2", *codec, str(out)])
    if proc.returncode != 0:
        pytest.skip(f"bundled ffmpeg cannot encode {ext}: {proc.stderr[-200:]!r}")
    audio = load_audio(out)
    assert audio.sample_rate == 16000
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert abs(audio.duration - 2.0) < 0.1


def test_audio_track_of_a_video(tmp_path, sample_audio, sample_image):
    out = tmp_path / "clip.mp4"
    run_ffmpeg(["-y", "-loop", "1", "-i", str(sample_image), "-i", str(sample_audio), "-t", "1.5",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)], check=True)
    assert abs(load_audio(out).duration - 1.5) < 0.15


def test_silent_audio_is_rejected_with_a_fix(tmp_path):
    path = write_wav(tmp_path / "silent.wav", np.zeros(16000 * 2))
    with pytest.raises(UserInputError, match="silent") as err:
        load_audio(path)
    assert "silent.wav" in str(err.value)


def test_corrupt_and_non_audio_files(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    with pytest.raises(UserInputError, match="cannot read audio"):
        decode_audio(bad)
    text = tmp_path / "notes.mp3"
    text.write_text("these are not sounds")
    with pytest.raises(UserInputError, match="notes.mp3"):
        load_audio(text)
    with pytest.raises(UserInputError, match="not found"):
        load_audio(tmp_path / "missing.wav")


def test_too_short_audio(tmp_path):
    path = write_wav(tmp_path / "blip.wav", np.sin(np.arange(1600) * 0.3) * 0.5)
    with pytest.raises(UserInputError, match="long"):
        load_audio(path)
