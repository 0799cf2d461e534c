"""Background work for the GUI: every long call into core runs here.

A ``Task`` wraps a core function that takes ``progress`` and ``cancel``
keywords. It runs on a QThreadPool thread; its signals are delivered on the
GUI thread (queued), progress is throttled so a fast loop cannot flood the
event queue, and ``cancel()`` sets core's CancelToken from the GUI thread.
No task ever pumps the event loop.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import Cancelled
from core.progress import CancelToken

log = logging.getLogger("synchrorama.app")


class TaskSignals(QObject):
    progress = Signal(str, float, float)   # stage, done, total
    done = Signal(object)
    failed = Signal(object)                # the exception
    cancelled = Signal()
    finished = Signal()                    # after any of the three above


def while_alive(owner: QObject, fn: Callable[..., Any]) -> Callable[..., None]:
    """``fn`` as a slot that does nothing once ``owner`` is deleted.

    A task's result can already be queued for the GUI thread when its window
    closes; a plain lambda would then call into a deleted object.
    """

    def slot(*args: Any) -> None:
        if shiboken6.isValid(owner):
            fn(*args)

    return slot


class Task(QRunnable):
    """Run ``fn(*args, progress=..., cancel=..., **kw)`` off the GUI thread."""

    MIN_INTERVAL = 0.05  # seconds between progress signals

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "", **kw: Any):
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kw = fn, args, kw
        self.name = name or getattr(fn, "__name__", "task")
        self.token = CancelToken()
        self.signals = TaskSignals()
        self._last = 0.0
        self.running = False

    def cancel(self) -> None:
        self.token.cancel()

    def detach(self) -> None:
        """Drop every receiver: a task that outlives its window must not call into it."""
        import warnings

        sig = self.signals
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for s in (sig.progress, sig.done, sig.failed, sig.cancelled, sig.finished):
                try:
                    s.disconnect()
                except (RuntimeError, TypeError):
                    pass

    def _progress(self, stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        if now - self._last >= self.MIN_INTERVAL or (total and done >= total):
            self._last = now
            self.signals.progress.emit(stage, float(done), float(total))

    def run(self) -> None:
        self.running = True
        try:
            self.token.check()
            result = self.fn(*self.args, progress=self._progress, cancel=self.token, **self.kw)
        except Cancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # reported as a dialog, never a crash
            if not isinstance(exc, Exception) or exc.__class__.__name__ != "UserInputError":
                log.exception("task %s failed", self.name)
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)
        finally:
            self.running = False
            self.signals.finished.emit()


class Runner(QObject):
    """Owns a thread pool and keeps running tasks alive until they finish."""

    def __init__(self, threads: int, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.tasks: set[Task] = set()

    def start(self, task: Task) -> Task:
        self.tasks.add(task)
        task.signals.finished.connect(lambda t=task: self.tasks.discard(t))
        self.pool.start(task)
        return task

    def cancel_all(self) -> None:
        for t in list(self.tasks):
            t.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)

    def stop(self, ms: int = 10000) -> bool:
        """Cancel, wait up to ``ms``; tasks still running after that are detached."""
        self.cancel_all()
        finished = self.wait(ms)
        if not finished:
            for t in list(self.tasks):
                t.detach()
        return finished
