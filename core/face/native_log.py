"""Keep mediapipe's native logging out of the user's terminal.

mediapipe's C++ side (absl logging, TensorFlow Lite) writes straight to
file descriptor 2 when a graph is built and first run: 9-10 lines such as
"Created TensorFlow Lite XNNPACK delegate" before anything the user should
read, and no environment variable turns them off. Around those native calls
only, fd 2 points at the null device; Python's own messages are flushed
before and written after, so nothing of ours is hidden.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.RLock()
_depth = 0
_saved_fd: int | None = None


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence fd 2 for the duration (re-entrant; the first caller restores it)."""
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
