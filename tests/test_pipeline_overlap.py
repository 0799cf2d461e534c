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
