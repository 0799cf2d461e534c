"""Forced alignment on the sample narration: matching, mismatched, long inputs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from core.io.audio import load_audio
from core.speech.align import align_words, known_word
from core.speech.text import normalise

UNRELATED = ("The quick brown fox jumps over the lazy dog while seven penguins argue about taxes "
             "in a small kitchen near the harbour. Nobody expected the weather to change so "
             "quickly this afternoon.")


def _words(script: str) -> list[str]:
    return [t.word for t in normalise(script, known_word)]


@pytest.fixture(scope="module")
def narration(sample_audio):
    return load_audio(sample_audio)


@pytest.fixture(scope="module")
def script():
    from core.pipeline import sample_paths

    return sample_paths()[2].read_text(encoding="utf-8")


def test_matching_script_aligns_every_word(narration, script):
    words = _words(script)
    res = align_words(narration.samples, narration.sample_rate, words)
    assert [w.text for w in res.words] == words
    assert not res.mismatch and res.confidence > 0.5 and res.failed_windows == 0
    assert res.coverage > 0.8
    # out-of-dictionary word got letter-to-sound phones and still aligned
    assert "synchrorama" in res.new_words
    # phones tile the words, in time order, within the audio
    starts = [p.start for p in res.phones]
    assert starts == sorted(starts) and res.phones[-1].end <= narration.duration + 0.05
    hello = res.words[0]
    assert hello.start < 0.2 and 0.3 < hello.end < 0.8


def test_unrelated_script_is_reported_as_mismatch(narration):
    res = align_words(narration.samples, narration.sample_rate, _words(UNRELATED))
    assert res.mismatch and res.confidence < 0.2


def test_partial_script_is_not_accepted_as_matching(narration, script):
    """Only the first sentence for the whole narration: most speech is uncovered."""
    first = script.split(".")[0]
    res = align_words(narration.samples, narration.sample_rate, _words(first))
    assert res.mismatch and res.coverage < 0.55


def test_long_input_is_aligned_in_windows_with_bounded_memory(narration, script):
    reps = 3
    x = np.concatenate([narration.samples] * reps)
    words = _words(script) * reps
    calls: list[tuple[float, float]] = []
    tracemalloc.start()
    res = align_words(x, narration.sample_rate, words, progress=lambda s, d, t: calls.append((d, t)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [w.text for w in res.words] == words and not res.mismatch
    # each copy's first word starts where the copy starts
    n = len(words) // reps
    for k in range(reps):
        assert abs(res.words[k * n].start - k * narration.duration) < 0.3
    # windowed: several progress steps, monotonic, ending at the total
    done = [d for d, _ in calls]
    assert len(calls) >= 3 and done == sorted(done) and calls[-1][0] == calls[-1][1]
    # Python-side peak is one window's PCM plus per-10-ms series: measured 3.4 MB here
    # and the same for 6 copies; a whole-input float64 copy would make it 11.8 MB
    assert peak < 4.5e6, peak


def test_unknown_words_are_reported_on_every_call():
    """The aligner's decoders live for the process; a second script with the same
    coined word must still be told that the word was pronounced from its letters."""
    from core.speech.align import DECODERS

    first = DECODERS.ensure_words(["hello", "zorblaxity"])
    again = DECODERS.ensure_words(["zorblaxity", "world"])
    assert first == ["zorblaxity"] and again == ["zorblaxity"]
    assert DECODERS.phones_of("zorblaxity")
