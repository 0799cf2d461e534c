"""The preview's renderer in a helper process (the same reason as app/analysis_process.py).

Preparing the mesh renderer for a portrait (face crop, texture space, the
identity guard's dlib embeddings) held the studio's event loop for up to
3.3 s at a time when it ran on a thread of the studio's process. Here it
runs in its own process: the preview engine (app/preview.py) sends the rig
once, then the motion after each edit, and asks for single frames, which
come back as raw RGB bytes (0.7 MB for a 480 px frame; a pipe moves that in
well under a millisecond).

Messages to the helper: ("rig", rig_id, rig, crop, max_output),
("motion", rig_id, gen, motion), ("render", rig_id, gen, index), ("quit",).
Answers: ("ready", rig_id, ms) or ("error", text) to "rig"; ("frame",
rig_id, gen, index, h, w, bytes, ms) or ("error", text) to "render".
"motion" has no answer. A helper holds the prepared renderers of the last
two portraits, so two windows do not make each other prepare again.
"""

from __future__ import annotations

import logging
import threading
import time

from app.helper_process import HelperProcess

log = logging.getLogger("synchrorama.app")


def _child_main(conn, log_file: str) -> None:  # pragma: no cover - runs in the helper process
    import traceback

    import numpy as np

    if log_file and not log_file.startswith("("):
        h = logging.FileHandler(log_file, encoding="utf-8")
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [preview process]: %(message)s"))
        for name in ("core", "synchrorama"):
            logging.getLogger(name).addHandler(h)
            logging.getLogger(name).setLevel(logging.INFO)
    renderers: dict[int, object] = {}        # rig_id -> prepared renderer (the last two)
    motions: dict[int, tuple[int, object]] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        kind = msg[0]
        try:
            if kind == "quit":
                return
            if kind == "rig":
                _, rig_id, rig, crop, max_out = msg
                from core.render.base import make_renderer

                t = time.perf_counter()
                r = make_renderer("mesh", size=crop, max_output=max_out)
                r.prepare(rig, crop)
                renderers[rig_id] = r
                for old in sorted(renderers)[:-2]:
                    renderers.pop(old, None)
                conn.send(("ready", rig_id, (time.perf_counter() - t) * 1000))
            elif kind == "motion":
                _, rig_id, gen, motion = msg
                motions[rig_id] = (gen, motion)
                for old in sorted(motions)[:-2]:
                    motions.pop(old, None)
            elif kind == "render":
                _, rig_id, gen, i = msg
                r = renderers.get(rig_id)
                g, motion = motions.get(rig_id, (None, None))
                if r is None or motion is None or g != gen:
                    conn.send(("error", f"no renderer or motion for frame {i} (rig {rig_id}, motion {gen})"))
                    continue
                t = time.perf_counter()
                frame = next(r.frames(motion, None, start=i, stop=i + 1))
                frame = np.ascontiguousarray(frame)
                conn.send(("frame", rig_id, gen, i, frame.shape[0], frame.shape[1], frame.tobytes(),
                           (time.perf_counter() - t) * 1000))
        except Exception as exc:  # noqa: BLE001 - answered, and logged in the helper
            logging.getLogger("synchrorama.app").error("preview process: %s\n%s", exc, traceback.format_exc())
            try:
                conn.send(("error", f"{exc.__class__.__name__}: {exc}"))
            except (OSError, ValueError):
                return


class RenderProcess(HelperProcess):
    """The client side; one request-answer exchange at a time (a lock), from worker threads."""

    name = "synchrorama-preview"

    def __init__(self) -> None:
        super().__init__(_child_main)

    def send(self, msg) -> None:
        """A message without an answer (call with the lock held)."""
        self._ensure()
        self._conn.send(msg)

    def ask(self, msg, stop: threading.Event | None = None, poll: float = 0.05):
        """Send and wait for the answer (call with the lock held); None when ``stop`` is set first."""
        self._ensure()
        conn, proc = self._conn, self._proc
        conn.send(msg)
        while True:
            try:
                if conn.poll(poll):
                    return conn.recv()
            except (EOFError, OSError):
                pass
            else:
                if proc.is_alive():
                    if stop is not None and stop.is_set():
                        # the answer is still coming: wait for it so the next exchange stays in step
                        if conn.poll(10):
                            conn.recv()
                        return None
                    continue
            code = proc.exitcode
            self._drop()
            return ("error", f"the preview process stopped unexpectedly (exit code {code}); it restarts with "
                             "the next frame")


def render_helper() -> RenderProcess:
    return RenderProcess.shared()
