"""Progress reporting and cooperative cancellation shared by every stage.

Long work takes a ``Progress`` (stage name, done, total) callback and a
``CancelToken``; it calls ``token.check()`` at every step so the CLI (Ctrl-C)
and the GUI (Cancel button, from another thread) stop it the same way.
"""

from __future__ import annotations

import threading
from typing import Callable, Protocol

from core.errors import Cancelled


class Progress(Protocol):
    def __call__(self, stage: str, done: float, total: float) -> None: ...


def no_progress(stage: str, done: float, total: float) -> None:
    """Progress sink that ignores everything."""


class CancelToken:
    """Thread-safe cancel flag checked by long-running loops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def scaled(progress: Progress, lo: float, hi: float) -> Progress:
    """Map a sub-task's 0..total onto lo..hi of an overall 0..1 bar."""

    def inner(stage: str, done: float, total: float) -> None:
        frac = done / total if total else 1.0
        progress(stage, lo + (hi - lo) * frac, 1.0)

    return inner


ProgressFn = Callable[[str, float, float], None]
