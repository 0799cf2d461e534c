"""Issue 19: frames rendered by forked worker processes (core/render/forked.py).

The same frames in the same order as one thread makes; cancelling, closing
early and a failing worker leave no process behind; where fork is not
usable the renderer says so and uses threads.
"""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import pytest

from core.face.rig import load_rig
from core.progress import CancelToken, Cancelled
from core.render import forked
from core.render import mesh as mesh_mod
from core.render.contact_sheet import demo_motion
from core.render.mesh import MeshRenderer

pytestmark = pytest.mark.skipif(not forked.fork_usable()[0], reason="no usable fork here")


def _children() -> set[int]:
    """Pids of this process's live (or unreaped) children."""
    me, out = os.getpid(), set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                out.add(int(d))
    return out


@pytest.fixture(scope="module")
def renderer(sample_image):
    r = MeshRenderer(size=256)
    r.prepare(load_rig(sample_image))
    return r


def _mode(monkeypatch, mode: str, n: str = "2") -> None:
    monkeypatch.setenv("SYNCHRORAMA_RENDER_MODE", mode)
    monkeypatch.setenv("SYNCHRORAMA_THREADS", n)


def test_processes_make_the_same_frames_in_order(renderer, monkeypatch):
    m = demo_motion(20)
    before = _children()
    _mode(monkeypatch, "threads", "1")
    one = list(renderer.frames(m))
    _mode(monkeypatch, "processes")
    assert mesh_mod.render_workers() == ("processes", 2)
    seen: list[tuple[int, int]] = []
    procs = list(renderer.frames(m, progress=lambda stage, i, n: seen.append((i, n))))
    part = list(renderer.frames(m, start=2, stop=19))
    assert len(procs) == 20 and all(np.array_equal(a, b) for a, b in zip(one, procs))
    assert len(part) == 17 and all(np.array_equal(a, b) for a, b in zip(one[2:19], part))
    assert [i for i, _ in seen] == list(range(1, 21)) and seen[-1] == (20, 20)
    assert _children() == before


def test_cancel_and_early_close_leave_no_process(renderer, monkeypatch):
    _mode(monkeypatch, "processes")
    m = demo_motion(mesh_mod.MIN_FORK_FRAMES + 4)
    before = _children()
    cancel = CancelToken()
    got = 0
    with pytest.raises(Cancelled):
        for _ in renderer.frames(m, cancel=cancel):
            got += 1
            if got == 3:
                assert len(_children() - before) == 2     # the two workers are running
                cancel.cancel()
    assert got == 3 and _children() == before
    gen = renderer.frames(m)
    next(gen)
    gen.close()
    assert _children() == before


def test_a_failing_worker_is_reported_and_reaped(renderer, monkeypatch):
    _mode(monkeypatch, "processes")
    m = demo_motion(mesh_mod.MIN_FORK_FRAMES + 2)
    real = renderer._render
    parent = os.getpid()

    def broken(w, h, g, whole):
        if os.getpid() != parent and np.array_equal(w, m.weights[5]):
            raise ValueError("frame five is broken")
        return real(w, h, g, whole)

    monkeypatch.setattr(renderer, "_render", broken)
    before = _children()
    got = []
    with pytest.raises(forked.WorkerFailed, match="frame five is broken"):
        for f in renderer.frames(m):
            got.append(f)
    assert len(got) == 5 and _children() == before


def test_short_ranges_stay_on_threads(renderer, monkeypatch):
    _mode(monkeypatch, "processes")
    m = demo_motion(mesh_mod.MIN_FORK_FRAMES - 1)
    before = _children()
    gen = renderer.frames(m)
    next(gen)
    assert _children() == before      # nothing forked for a range this short
    assert len(list(gen)) == mesh_mod.MIN_FORK_FRAMES - 2


def test_without_fork_threads_are_used_and_said(renderer, monkeypatch, caplog):
    _mode(monkeypatch, "processes")
    monkeypatch.setattr(forked, "fork_usable", lambda: (False, f"no safe fork on {sys.platform}-test"))
    monkeypatch.setattr(mesh_mod, "_LOGGED", set())
    assert mesh_mod.render_workers() == ("threads", 2)
    with caplog.at_level(logging.INFO, logger="core.render.mesh"):
        frames = list(renderer.frames(demo_motion(3)))
    assert len(frames) == 3
    assert any("2 threads" in r.getMessage() and "threads instead of processes" in r.getMessage()
               for r in caplog.records)
