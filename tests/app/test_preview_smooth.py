"""Issue 18 item 7: the analysis never holds the window's event loop, and the preview renders ahead
(in a helper process) so playback shows every frame, each rendered once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QTimer

from app.canvas_cache import CachedCanvas


JITTER = """
import sys, time
from pathlib import Path
stop, last, worst = Path(sys.argv[1]), time.perf_counter(), 0.0
while not stop.exists():
    time.sleep(0.01)
    now = time.perf_counter()
    worst, last = max(worst, now - last), now
print(worst)
"""


class _Gaps:
    """The longest wait between ticks of a 10 ms timer on the event loop."""

    def __init__(self):
        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def start(self):
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return max(self.gaps) if self.gaps else 0.0


def test_analysis_never_blocks_the_event_loop_over_100_ms(studio, qtbot, tmp_path):
    """The sample (15 s) analysed from nothing (a fresh cache) while a 10 ms timer runs.

    On a thread of the studio's process the aligner and the emotion stage held the loop for up to 1.9 s.
    """
    from app.analysis_process import helper

    s = studio.session
    s.cache_root = str(tmp_path / "fresh-cache")
    # the helper process starts with the window (while the user picks files), not with the analysis
    qtbot.waitUntil(lambda: helper().pid is not None, timeout=30000)
    qtbot.wait(300)                              # the window's own first paints are not the analysis
    gaps = _Gaps()
    stage = ["start"]
    s.analysis_progress.connect(lambda st, d, t: stage.__setitem__(0, f"{st} {d:.0f}/{t:.0f}"))
    where: list[tuple[int, str]] = []
    gaps.timer.timeout.connect(lambda: where.append((round(gaps.gaps[-1] * 1000), stage[0]))
                               if gaps.gaps and gaps.gaps[-1] > 0.05 else None)
    # the same 10 ms timer in a bare process beside it: on a busy machine every process waits for a
    # core now and then; the studio must not add to that (the old in-thread analysis added 1.8 s)
    stop = tmp_path / "stop"
    control = subprocess.Popen([sys.executable, "-c", JITTER, str(stop)], stdout=subprocess.PIPE, text=True)
    gaps.start()
    s.sample_project()
    qtbot.waitUntil(lambda: s.analysis is not None, timeout=240000)
    worst = gaps.stop()
    stop.touch()
    machine = float(control.communicate(timeout=30)[0])
    assert len(gaps.gaps) > 100                  # the timer ran all along (the analysis takes seconds)
    allowed = max(0.100, machine + 0.050)
    assert worst < allowed, (f"the event loop stopped for {worst * 1000:.0f} ms (a bare process on this machine: "
                             f"{machine * 1000:.0f} ms); gaps over 50 ms: {where}")
    assert s.analysis.tracks.duration > 14       # the whole sample was analysed


def test_playback_shows_every_frame_rendered_once(loaded, qtbot):
    win = loaded
    eng, tr = win.engine, win.transport
    n = int(tr.duration * tr.fps)
    qtbot.waitUntil(lambda: len(eng.cache) >= min(n, int(tr.fps)), timeout=60000)   # a second ahead, paused
    shown: list[int] = []
    eng.frame_ready.connect(lambda i, _img, _ms: shown.append(i))
    eng.rendered.clear()
    tr.seek(0.0)
    tr.play()
    qtbot.waitUntil(lambda: not tr.playing, timeout=30000)
    assert shown, "nothing was shown"
    missing = sorted(set(range(shown[0], n)) - set(shown))
    assert missing == [], f"frames not shown while playing: {missing}"
    assert shown == sorted(shown)                # in order
    gens = {g for g, _ in eng.rendered}
    assert len(eng.rendered) == len(set(eng.rendered)), "a frame was rendered twice"
    assert len(gens) <= 1


def test_an_edit_renders_the_current_frame_first_and_cached_frames_are_not_rendered_again(loaded, qtbot):
    win, s = loaded, loaded.session
    eng, tr = win.engine, win.transport
    qtbot.waitUntil(lambda: len(eng.cache) >= 10, timeout=60000)
    tr.seek(0.4)
    qtbot.waitUntil(lambda: eng._shown is not None and eng._shown[1] == tr.frame(), timeout=20000)
    before = len(eng.rendered)
    for _ in range(3):                           # back and forth over frames already rendered
        tr.step(1)
        tr.step(-1)
    qtbot.wait(200)
    again = [k for k in eng.rendered[before:] if k in eng.rendered[:before]]
    assert again == []
    eng.rendered.clear()
    s.edit("seed", 9, "Motion seed")             # a new motion: a new generation, this frame first
    qtbot.waitUntil(lambda: not s.motion_pending, timeout=30000)
    new = lambda: [i for g, i in eng.rendered if g == eng._gen]  # noqa: E731 (a render of the old motion may finish first)
    qtbot.waitUntil(lambda: bool(new()), timeout=30000)
    assert new()[0] == tr.frame()


def test_the_playhead_moves_without_redrawing_the_timeline_and_curves(loaded, qtbot):
    win = loaded
    canvases = (win.timeline.canvas, win.curves.canvas)
    for c in canvases:
        c.repaint()
    before = CachedCanvas.static_paints
    for k in range(10):
        win.transport.seek(0.1 * k)
        for c in canvases:
            c.repaint()
    assert CachedCanvas.static_paints == before   # only the pixmap and the playhead line were drawn
    win.view.zoom(1.5, 1.0)                        # the content changed: drawn again
    for c in canvases:
        c.repaint()
    assert CachedCanvas.static_paints == before + 2


def test_the_helper_process_reports_errors_cancels_and_recovers(qtbot):
    from core.errors import Cancelled, UserInputError
    from core.progress import CancelToken

    from app.analysis_process import AnalysisProcess, HelperDied, HelperFailed

    h = AnalysisProcess()
    try:
        seen = []
        assert h.call("echo", 42, 0.2, progress=lambda *a: seen.append(a), cancel=CancelToken()) == 42
        assert seen and seen[0][0] == "echo"
        with pytest.raises(UserInputError) as err:
            h.call("echo", "user error", progress=lambda *a: None, cancel=CancelToken())
        assert err.value.path == "/some/file" and err.value.fix == "Do something else."
        with pytest.raises(HelperFailed, match="ValueError: an echo of a bug"):
            h.call("echo", "bug", progress=lambda *a: None, cancel=CancelToken())
        tok = CancelToken()
        QTimer.singleShot(200, tok.cancel)
        import threading

        box = {}

        def run():
            try:
                h.call("echo", 1, 30.0, progress=lambda *a: None, cancel=tok)
            except Cancelled:
                box["cancelled"] = True

        th = threading.Thread(target=run)
        th.start()
        qtbot.waitUntil(lambda: not th.is_alive(), timeout=10000)
        assert box.get("cancelled")
        pid = h.pid
        with pytest.raises(HelperDied):
            h.call("echo", "crash", progress=lambda *a: None, cancel=CancelToken())
        assert h.call("echo", "again", progress=lambda *a: None, cancel=CancelToken()) == "again"
        assert h.pid != pid and h.started == 2           # a fresh helper after the crash
    finally:
        h.shutdown()
        assert h.pid is None


def test_an_idle_analysis_helper_is_released_and_comes_back_for_the_next_job(qtbot):
    """After an analysis the helper holds ~650 MB of models; idle, it is stopped (issue 19's
    studio memory), and the next job starts a fresh one without the caller noticing."""
    import time

    from core.progress import CancelToken

    from app.analysis_process import AnalysisProcess

    h = AnalysisProcess()
    h.idle_release_s = 0.6
    try:
        assert h.call("echo", 1, progress=lambda *a: None, cancel=CancelToken()) == 1
        # a job begun before the timer fires keeps the helper: the earlier release is void
        time.sleep(0.3)
        assert h.call("echo", 2, progress=lambda *a: None, cancel=CancelToken()) == 2
        time.sleep(0.45)
        assert h.pid is not None and h.released == 0
        qtbot.waitUntil(lambda: h.pid is None, timeout=5000)
        assert h.released == 1 and h.started == 1
        assert h.call("echo", 3, progress=lambda *a: None, cancel=CancelToken()) == 3
        assert h.pid is not None and h.started == 2
    finally:
        h.shutdown()
        assert h.pid is None
