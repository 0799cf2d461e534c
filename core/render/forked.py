"""Frames rendered by worker processes forked after ``prepare`` (issue 19).

Why: the mesh renderer's frame is a mix of OpenCV calls (which release the
GIL) and Python/NumPy glue (which holds it); two render *threads* spend
much of the second core handing the GIL back and forth. Forked workers
share the prepared renderer's arrays copy-on-write and need no GIL of each
other's.

How: ``workers`` children are forked when a range of frames starts; worker
k renders the range's frames k, k + workers, ... into slots of one
anonymous shared mapping (``mmap(-1)``: no named segment exists, so none
can be left behind); the parent hands out slots over a pipe per worker,
copies each finished frame out of its slot and yields the frames in order.
The children ignore SIGINT (the parent owns cancelling), leave through
``os._exit`` only, and exit by themselves when their pipe closes (a parent
that dies takes them with it); the parent stops and reaps them when the
range ends, is cancelled or fails, killing one that does not stop within
a few seconds.

Only where ``os.fork`` is safe (Linux); ``fork_usable`` says why not
elsewhere and the renderer then uses threads, saying so in the log.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterator

import numpy as np

# bytes of frame slots the parent may map at once (2 slots per worker below this)
SLOT_BUDGET = 96 * 2 ** 20
STOP_WAIT_S = 5.0


def fork_usable() -> tuple[bool, str]:
    """Whether frames may be rendered in forked processes here, and why not."""
    if not sys.platform.startswith("linux"):
        return False, f"no safe fork on {sys.platform}"
    if not hasattr(os, "fork"):
        return False, "os.fork is missing"
    return True, "fork"


class WorkerFailed(RuntimeError):
    """A render worker process raised (its traceback is the message) or died."""


def forked_frames(render_into: Callable[[int, np.ndarray], None], start: int, stop: int,
                  shape: tuple[int, ...], workers: int, after_fork: Callable[[], None] | None = None
                  ) -> Iterator[np.ndarray]:
    """Frames ``start..stop-1`` in order; ``render_into(i, out)`` fills ``out`` (uint8 ``shape``)
    in a worker. Closing the generator (or an exception in the caller) stops the workers."""
    import gc
    import mmap
    import signal
    from multiprocessing import Pipe

    import cv2

    n = stop - start
    workers = max(1, min(workers, n))
    frame_bytes = int(np.prod(shape))
    slots = 2 if frame_bytes * workers * 2 <= SLOT_BUDGET else 1
    buf = mmap.mmap(-1, frame_bytes * workers * slots)
    views = np.frombuffer(buf, np.uint8).reshape(workers, slots, *shape)
    pids: list[int] = []
    conns = []
    ends = []
    cv_threads = cv2.getNumThreads()
    # OpenCV's pool is shut before forking (a child cannot re-size a pool whose threads
    # it did not inherit) and the heap frozen, so the children's collector does not
    # write to (and copy) every page the parent's objects live on
    cv2.setNumThreads(1)
    gc.freeze()
    try:
        for k in range(workers):
            here, there = Pipe()
            pid = os.fork()
            if pid == 0:   # the child: never returns into the caller's frames
                code = 1
                try:
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    here.close()
                    for c in conns:
                        c.close()
                    if after_fork is not None:
                        after_fork()
                    code = _serve(there, views[k], render_into, start)
                finally:
                    os._exit(code)
            there.close()
            pids.append(pid)
            conns.append(here)
    except BaseException:
        _stop(conns, pids)
        raise
    finally:
        gc.unfreeze()
        cv2.setNumThreads(cv_threads)
    try:
        for p in range(min(n, workers * slots)):
            conns[p % workers].send((p, (p // workers) % slots))
        for p in range(n):
            k, s = p % workers, (p // workers) % slots
            try:
                got, err = conns[k].recv()
            except (EOFError, OSError):
                raise WorkerFailed(f"render worker {k} (pid {pids[k]}) died at frame {start + p}") from None
            if err is not None:
                raise WorkerFailed(f"render worker {k} failed at frame {start + got}:\n{err}")
            frame = views[k, s].copy()
            nxt = p + workers * slots
            if nxt < n:
                conns[k].send((nxt, s))
            yield frame
    finally:
        _stop(conns, pids)
        del views
        try:
            buf.close()
        except BufferError:   # a view still exported somewhere: the collector unmaps it later
            pass


def _serve(conn, slots: np.ndarray, render_into: Callable[[int, np.ndarray], None], start: int) -> int:
    """The worker's loop: (position, slot) in, (position, None or traceback) out; None or EOF ends it."""
    import traceback

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return 0
        if msg is None:
            return 0
        p, s = msg
        try:
            render_into(start + p, slots[s])
        except BaseException:
            try:
                conn.send((p, traceback.format_exc()))
            except OSError:
                pass
            return 1
        try:
            conn.send((p, None))
        except OSError:
            return 0


def _stop(conns, pids: list[int]) -> None:
    """Ask every worker to stop, wait for it (a few seconds at most), kill a late one; reap all."""
    import signal

    for c in conns:
        try:
            c.send(None)
        except OSError:
            pass
        c.close()
    deadline = time.monotonic() + STOP_WAIT_S
    left = list(pids)
    while left:
        for pid in list(left):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                left.remove(pid)
        if not left:
            break
        if time.monotonic() > deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            break
        time.sleep(0.002)
