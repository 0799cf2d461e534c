"""Issue 19: the renderer is prepared beside the analysis, and errors still surface."""

from __future__ import annotations

import threading
import time

import pytest

import core.pipeline as P


class _Fake:
    def __init__(self, fail: bool = False, delay: float = 0.0):
        self.fail, self.delay = fail, delay
        self.thread = None
        self.prepared_with = None

    def prepare(self, rig, size):
        self.thread = threading.current_thread()
        time.sleep(self.delay)
        if self.fail:
            raise P.UserInputError("render size 8 is too small.")
        self.prepared_with = (rig, size)


def test_prepare_runs_on_its_own_thread_and_reports_its_time(monkeypatch):
    fake = _Fake(delay=0.2)
    monkeypatch.setattr(P, "make_renderer", lambda name, **kw: fake)
    t = time.perf_counter()
    early = P.EarlyPrepare("rig", "mesh", 256, 0, None)
    assert time.perf_counter() - t < 0.15          # returned at once, preparing meanwhile
    clock = P.StageClock()
    assert early.result(clock) is fake
    assert fake.prepared_with == ("rig", 256)
    assert fake.thread is not threading.current_thread() and fake.thread.daemon
    # the wait starts before the thread's own clock does: only roughly bounded by it
    assert clock.stages["prepare"] >= 0.19 and 0.0 <= clock.stages["prepare_wait"] <= clock.stages["prepare"] + 0.1


def test_a_preparation_error_is_raised_where_the_renderer_is_asked_for(monkeypatch):
    monkeypatch.setattr(P, "make_renderer", lambda name, **kw: _Fake(fail=True))
    early = P.EarlyPrepare("rig", "mesh", 8, 0, None)
    with pytest.raises(P.UserInputError, match="too small"):
        early.result()


def test_speech_emotion_runs_beside_the_alignment_and_gives_the_same_windows():
    """BackgroundSER (started with the alignment) hands the emotion stage the windows it would compute."""
    import numpy as np

    from core.emotion.fusion import ser_windows
    from core.io.audio import load_audio
    from core.progress import CancelToken
    from core.speech.features import analyse_audio

    audio = load_audio(P.SAMPLE_DIR / "narration.wav")
    feats = analyse_audio(audio.samples, audio.sample_rate)
    bg = P.BackgroundSER(audio, feats, CancelToken())
    model, win = bg.result()
    bg.stop()
    model2, win2 = ser_windows(audio, feats)
    assert model is model2
    for k in ("times", "probs", "valence", "arousal", "confidence", "speech"):
        assert np.array_equal(getattr(win, k), getattr(win2, k)), k


def test_background_speech_emotion_stops_and_raises_where_asked(monkeypatch):
    from core.progress import CancelToken, Cancelled

    started = threading.Event()

    def slow(audio, feats, *, cancel=None, progress=None):
        started.set()
        while True:
            cancel.check()
            time.sleep(0.01)

    import core.emotion.fusion as F

    monkeypatch.setattr(F, "ser_windows", slow)
    bg = P.BackgroundSER(None, None, CancelToken())
    assert started.wait(5)
    t = time.perf_counter()
    bg.stop()
    assert time.perf_counter() - t < 1 and not bg._thread.is_alive()
    with pytest.raises(Cancelled):
        bg.result()
    job = CancelToken()                     # the job's own cancel reaches the thread too
    bg = P.BackgroundSER(None, None, job)
    job.cancel()
    with pytest.raises(Cancelled):
        bg.result()
    bg.stop()
