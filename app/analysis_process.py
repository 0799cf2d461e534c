"""The analysis runs in a helper process, so it never holds up the window.

Measured on the sample (15 s, nothing cached, 2 cores): run on a thread of
the studio's own process, the analysis stopped the event loop for up to
1.9 s at a time (the forced aligner) and for 0.2-1.1 s every half second
(the emotion stage): those libraries hold Python's global interpreter lock
inside long C calls, and a thread cannot take it back. A process has its
own interpreter, so the window's event loop keeps running.

One helper process (``spawn``, no Qt in it) is started on first use and kept
for the next analyses (its imports are paid once); the caller's worker
thread sends a job, forwards the progress messages and turns the answer
back into the result or the exception (a UserInputError stays one, with its
sentence; a cancel is core's Cancelled). Cancelling sends a message that
sets the job's CancelToken in the helper. If the helper dies, the job fails
with a message naming the log and the next job starts a fresh helper. The
helper writes to the studio's log file. Environment variables that choose
the user folders (SYNCHRORAMA_HOME, XDG_*, HOME...) are sent with every job,
so the helper's caches and models are the studio's.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from app.helper_process import HelperProcess

log = logging.getLogger("synchrorama.app")

_ENV_PREFIXES = ("SYNCHRORAMA_", "XDG_")
_ENV_KEYS = ("HOME", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "TMPDIR", "TEMP", "TMP")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_KEYS}


# -- what the helper can run (module-level functions, looked up by name) -------------------
def _analyse(project, cache_root: str | None, *, progress, cancel):
    from core.project import analyse_project

    return analyse_project(project, cache_root=Path(cache_root) if cache_root else None,
                           progress=progress, cancel=cancel)


def _echo(value, seconds: float = 0.0, *, progress, cancel):
    """For tests: answers ``value`` after ``seconds`` of cancellable waiting."""
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        cancel.check()
        progress("echo", time.monotonic() - t, seconds)
        time.sleep(0.01)
    if value == "user error":
        from core.errors import UserInputError

        raise UserInputError("an echo of a user error.", "/some/file", "Do something else.")
    if value == "crash":
        os._exit(3)
    if value == "bug":
        raise ValueError("an echo of a bug")
    return value


JOBS = {"analyse": _analyse, "echo": _echo}


# -- the helper process ------------------------------------------------------------------
def _child_main(conn, log_file: str) -> None:  # pragma: no cover - runs in the helper process
    import queue

    from core.errors import Cancelled, UserInputError
    from core.progress import CancelToken

    if log_file and not log_file.startswith("("):
        h = logging.FileHandler(log_file, encoding="utf-8")
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [analysis process]: %(message)s"))
        for name in ("core", "synchrorama"):
            logging.getLogger(name).addHandler(h)
            logging.getLogger(name).setLevel(logging.INFO)
    jobs: queue.Queue = queue.Queue()
    tokens: dict[int, CancelToken] = {}
    lock = threading.Lock()

    def reader():
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                jobs.put(None)          # the studio is gone: stop
                return
            if msg[0] == "cancel":
                with lock:
                    tok = tokens.get(msg[1])
                if tok is not None:
                    tok.cancel()
            elif msg[0] == "run":
                with lock:
                    tokens[msg[1]] = CancelToken()
                jobs.put(msg)
            else:
                jobs.put(None)
                return

    threading.Thread(target=reader, daemon=True, name="studio-pipe").start()
    while True:
        msg = jobs.get()
        if msg is None:
            return
        _, jid, name, args, kw, env = msg
        os.environ.update(env)
        with lock:
            token = tokens[jid]
        last = [0.0]

        def progress(stage, done, total, jid=jid):
            now = time.monotonic()
            if now - last[0] >= 0.05 or (total and done >= total):
                last[0] = now
                conn.send(("progress", jid, str(stage), float(done), float(total)))

        try:
            token.check()
            result = JOBS[name](*args, progress=progress, cancel=token, **kw)
            reply = ("done", jid, result)
        except Cancelled:
            reply = ("cancelled", jid)
        except UserInputError as exc:
            reply = ("user_error", jid, type(exc).__name__, exc.detail, exc.path, exc.fix)
        except BaseException as exc:  # noqa: BLE001 - sent back, logged there
            logging.getLogger("synchrorama.app").exception("analysis process: %s failed", name)
            reply = ("failed", jid, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        with lock:
            tokens.pop(jid, None)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return
        if name == "analyse":
            # the models go with the job (130 MB on the sample): the preview helper
            # prepares its renderer right after an analysis, and the two together
            # passed 1 GB; the next analysis loads them again (about a second)
            from core.model_cache import release_models

            release_models()


class HelperDied(RuntimeError):
    """The helper process stopped in the middle of a job."""


class HelperFailed(RuntimeError):
    """A job raised an unexpected exception in the helper (its traceback is in the log)."""


class AnalysisProcess(HelperProcess):
    """The client side: one job at a time, from any worker thread (never the GUI thread)."""

    name = "synchrorama-analysis"
    # not a daemon: core may start processes of its own (the aligner does); shutdown() stops it,
    # and it stops by itself when the studio's end of the pipe closes
    daemon = False
    # The helper lets its models go after each analysis (_child_main), but its libraries stay
    # loaded: 300-400 MB on the sample, while the user only edits curves, which need no
    # analysis. Stopped after this long idle; the next analysis (new media) starts a fresh
    # helper, paying its imports and model loads again (a few seconds).
    idle_release_s: float | None = 20.0

    def __init__(self) -> None:
        super().__init__(_child_main)
        self._ids = itertools.count(1)

    def call(self, name: str, *args: Any, progress, cancel, **kw: Any):
        """Run JOBS[name] in the helper; progress is forwarded, cancel is honoured."""
        with self.lock:
            self.job_begun()
            try:
                return self._call_locked(name, args, kw, progress, cancel)
            finally:
                self.job_ended()

    def _call_locked(self, name: str, args: tuple, kw: dict, progress, cancel):
        """One exchange with the helper (``lock`` held): send the job, relay until its answer."""
        from core.errors import Cancelled, UserInputError

        cancel.check()
        self._ensure()
        jid = next(self._ids)
        conn, proc = self._conn, self._proc
        conn.send(("run", jid, name, args, kw, _env()))
        asked = False
        while True:
            if cancel.cancelled and not asked:
                conn.send(("cancel", jid))
                asked = True
            try:
                ready = conn.poll(0.05)
                msg = conn.recv() if ready else None
            except (EOFError, OSError):
                msg, ready = None, True
            if ready and msg is None or (not ready and not proc.is_alive()):
                code = proc.exitcode if not proc.is_alive() else None
                self._drop()
                raise HelperDied(f"the analysis process stopped unexpectedly (exit code {code}).")
            if msg is None or msg[1] != jid:
                continue
            kind = msg[0]
            if kind == "progress":
                progress(msg[2], msg[3], msg[4])
            elif kind == "done":
                return msg[2]
            elif kind == "cancelled":
                raise Cancelled()
            elif kind == "user_error":
                import core.errors as ce

                cls = getattr(ce, msg[2], UserInputError)
                cls = cls if isinstance(cls, type) and issubclass(cls, UserInputError) else UserInputError
                raise cls(msg[3], msg[4], msg[5])
            elif kind == "failed":
                log.error("analysis process: %s\n%s", msg[2], msg[3])
                raise HelperFailed(msg[2])


def helper() -> AnalysisProcess:
    return AnalysisProcess.shared()
