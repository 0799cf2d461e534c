"""The alignment entry point: script, wrong script, no script, no words."""

from __future__ import annotations

import numpy as np

from core.io.audio import Audio, load_audio
from core.speech.timing import asr_model_dir, speech_timing


def test_wrong_script_is_reported_and_speech_to_text_takes_over(sample_audio):
    audio = load_audio(sample_audio)
    calls = []
    al = speech_timing(audio, "The quick brown fox jumps over the lazy dog near the harbour.",
                       progress=lambda s, d, t: calls.append((s, d, t)))
    assert any("does not match" in w for w in al.warnings)
    assert al.source == "asr" and al.confidence > 0.5
    # the recognised text is kept for the user to correct
    assert "astronaut" in al.script.lower() and "orbit" in al.script.lower()
    assert [w.text for w in al.words][:3] == ["hello", "and", "welcome"]
    assert any(p.label in ("P", "B", "M") for p in al.phones)
    assert calls and calls[-1][1] == calls[-1][2]


def test_noise_gives_no_words_and_says_so():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16000 * 4) * 0.05).astype(np.float32)
    al = speech_timing(Audio(x, 16000, "noise"), None)
    assert al.source == "energy" and not al.words and al.warnings


def test_recogniser_files_are_verified():
    folder = asr_model_dir()
    assert (folder / "model.bin").stat().st_size > 70e6
