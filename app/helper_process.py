"""The client side of a studio helper process: start on demand, replace a dead one, stop at exit.

Analysis and the preview renderer each run in their own process (the
third-party libraries hold Python's lock for long stretches, so no thread
keeps the window responsive). Both share this life cycle; what they say
over the pipe is their own (``analysis_process``, ``render_process``).
"""

from __future__ import annotations

import atexit
import threading
from typing import Callable

_shared: dict[type, "HelperProcess"] = {}
_shared_lock = threading.Lock()


class HelperProcess:
    """One spawned child with a pipe; ``lock`` serialises the exchanges with it."""

    name = "synchrorama-helper"
    daemon = True
    # seconds without a job after which the helper is stopped and its memory returned
    # (None: kept for the studio's lifetime); the next job starts a fresh one
    idle_release_s: float | None = None

    @classmethod
    def shared(cls):
        """The studio's one helper of this kind, stopped at exit."""
        with _shared_lock:
            if cls not in _shared:
                # multiprocessing's own exit hook joins child processes; atexit runs hooks last-in
                # first-out, so ours (registered after multiprocessing's) stops the helper before
                # that join waits on it
                import multiprocessing.util  # noqa: F401

                _shared[cls] = cls()
                atexit.register(_shared[cls].shutdown)
            return _shared[cls]

    def __init__(self, child_main: Callable) -> None:
        self.lock = threading.Lock()
        self._child_main = child_main
        self._proc = None
        self._conn = None
        self.started = 0          # how many helpers were started (a dead one is replaced)
        self.released = 0         # how many were stopped for being idle
        self._jobs = 0            # jobs begun: a release timer only acts if none began since
        self._timer: threading.Timer | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def _ensure(self) -> None:
        """Start the child unless it is alive (call with ``lock`` held)."""
        if self._proc is not None and self._proc.is_alive():
            return
        import multiprocessing as mp

        from app import errors

        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=self._child_main, args=(child, errors.LOG_FILE), daemon=self.daemon,
                           name=self.name)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self.started += 1

    def warm_up(self) -> None:
        """Start the helper now, on a thread (starting a process copies this one's page tables: not on
        the GUI thread, and not in the middle of the first job)."""
        def start():
            with self.lock:
                self._ensure()

        threading.Thread(target=start, daemon=True, name=f"{self.name}-start").start()

    def job_begun(self) -> None:
        """Call with ``lock`` held when a job starts: an idle release scheduled before it is void."""
        self._jobs += 1

    def job_ended(self) -> None:
        """Call when a job has ended (with or without ``lock``): schedule the idle release."""
        if self.idle_release_s is None:
            return
        seen = self._jobs
        timer = threading.Timer(self.idle_release_s, self._release_if_idle, args=(seen,))
        timer.daemon = True
        old, self._timer = self._timer, timer
        if old is not None:
            old.cancel()
        timer.start()

    def _release_if_idle(self, seen: int) -> None:
        """Stop the helper if no job began since ``seen`` (a running job holds the lock: skip)."""
        if not self.lock.acquire(blocking=False):
            return
        try:
            if self._jobs != seen or self._proc is None:
                return
            self._stop_locked(3.0)
            self.released += 1
        finally:
            self.lock.release()

    def _stop_locked(self, timeout: float) -> None:
        proc, conn = self._proc, self._conn
        try:
            conn.send(("quit",))
        except (OSError, ValueError):
            pass
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join(1)
        self._proc, self._conn = None, None

    def _drop(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        self._proc, self._conn = None, None

    def shutdown(self, timeout: float = 3.0) -> None:
        """Ask the helper to stop; kill it if it does not (a job still running is cut off)."""
        if self._timer is not None:
            self._timer.cancel()
        got = self.lock.acquire(timeout=timeout)
        try:
            if self._proc is None:
                return
            self._stop_locked(timeout if got else 0.1)
        finally:
            if got:
                self.lock.release()
