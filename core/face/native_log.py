"""Keep mediapipe's native logging out of the user's terminal.

mediapipe's C++ side (absl logging, TensorFlow Lite) writes straight to
file descriptor 2 when a graph is built and first run: 9-10 lines such as
"Created TensorFlow Lite XNNPACK delegate" before anything the user should
read, and no environment variable turns them off. Around those native calls
only, fd 2 points at the null device; Python's own messages are flushed
before and written after, so nothing of ours is hidden.

The lines come from the graph's own threads, not from the calling one: a
solution's constructor starts the graph and returns before the calculators'
Open() (which loads the TFLite model and logs the XNNPACK line) has run, so
solutions are built with start_quietly(), which keeps fd 2 silenced until the
graph is idle. process() needs nothing more: it waits for the graph itself.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_lock = threading.RLock()
_depth = 0
_saved_fd: int | None = None


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence fd 2 for the duration (re-entrant across threads; the last one out restores it)."""
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass   # no usable sys.stderr (windowed frozen app): nothing of ours to flush
            try:
                _saved_fd = os.dup(2)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
            except OSError:
                _saved_fd = None   # no fd 2 at all (windowed app): there is nothing to silence
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _saved_fd = None


def start_quietly(make: Callable[[], T]) -> T:
    """Build a mediapipe solution (make()) with fd 2 silenced until its graph has opened.

    Why: SolutionBase.__init__ returns as soon as the graph is started; the calculators open
    afterwards on the graph's threads and log then. Restoring fd 2 when the constructor returned
    let those lines through whenever they came late (a loaded machine, or a pause before the
    first process()). Waiting until the graph is idle keeps them all inside the window.
    """
    with quiet_native_stderr():
        solution = make()
        graph = getattr(solution, "_graph", None)   # mediapipe.python.solution_base.SolutionBase
        if graph is not None:
            graph.wait_until_idle()
    return solution
