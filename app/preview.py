"""Live preview: frames rendered ahead in a helper process, kept, and shown at the playhead.

The renderer runs in a helper process (app/render_process.py), so neither
preparing it for a portrait nor rendering holds the window's event loop. A
QThread here (the engine) talks to it: it renders the frame at the playhead
first, then the frames after it (while playing, two seconds ahead in the
playing direction; while paused, one second, so playback starts from a
filled buffer). Every frame is kept (up to ``CACHE_FRAMES``, the farthest
from the playhead dropped first) with the motion's generation, so a frame is
rendered once per edit and never twice: the playhead's request is answered
from the cache on the GUI thread when the frame is there. A new motion (any
edit) starts a new generation; the current frame is rendered first.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger("synchrorama.app")

PREVIEW_CROP = 512     # face-crop work resolution while previewing (the export's default)
PREVIEW_MAX = 480      # long side of the preview frame
CACHE_FRAMES = 160     # kept frames (0.7 MB each at 480 px)
AHEAD_PLAYING_S = 2.0
AHEAD_PAUSED_S = 1.0
_RIG_IDS = itertools.count(1)   # unique across windows: the helper process is shared


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class PreviewEngine(QThread):
    frame_ready = Signal(int, QImage, float)   # frame index, image, milliseconds
    failed = Signal(str)

    def __init__(self, parent=None, helper=None):
        super().__init__(parent)
        self._cv = threading.Condition()
        self._helper = helper
        self._rig = None
        self._rig_id = 0
        self._rig_dirty = False
        self._ready_id = 0            # the rig the helper has prepared for us
        self._motion = None
        self._gen = 0
        self._sent_gen = -1
        self._want: int | None = None
        self._direction = 0           # 0 paused, +1 / -1 playing
        self._fps = 25.0
        self._quit = threading.Event()
        self.cache: OrderedDict[tuple[int, int], tuple[QImage, float]] = OrderedDict()
        self.rendered: list[tuple[int, int]] = []    # (generation, frame) of every render, in order
        self._shown: tuple[int, int] | None = None  # the last frame handed to the view
        self.last_ms = 0.0

    @property
    def helper(self):
        if self._helper is None:
            from app.render_process import render_helper

            self._helper = render_helper()
        return self._helper

    # -- from the GUI thread ------------------------------------------------------
    def set_rig(self, rig) -> None:
        with self._cv:
            self._rig, self._rig_dirty = rig, True
            self._rig_id = next(_RIG_IDS)
            self.cache.clear()
            self._cv.notify()

    def set_motion(self, motion, rerender: int | None = None) -> None:
        with self._cv:
            self._motion = motion
            self._gen += 1
            self.cache.clear()              # frames of the old motion are stale
            if rerender is not None:
                self._want = int(rerender)
            self._cv.notify()

    def set_playing(self, rate: float, fps: float | None = None) -> None:
        with self._cv:
            self._direction = 0 if rate == 0 else (1 if rate > 0 else -1)
            if fps:
                self._fps = float(fps)
            self._cv.notify()

    def request(self, index: int) -> None:
        """Show frame ``index``: at once from the cache, else rendered first."""
        with self._cv:
            self._want = int(index)
            key = (self._gen, self._clip(int(index)))
            hit = self.cache.get(key) if key != self._shown else None
            self._cv.notify()
        if hit is not None:
            self._shown = key
            self.frame_ready.emit(key[1], hit[0], hit[1])

    def stop(self) -> None:
        with self._cv:
            self._quit.set()
            self._cv.notify()
        self.wait(15000)

    # -- the engine thread ----------------------------------------------------------
    def _clip(self, i: int) -> int:
        n = self._motion.n_frames if self._motion is not None else 1
        return int(np.clip(i, 0, max(n - 1, 0)))

    def _next_target(self) -> int | None:
        """The playhead's frame if it is missing, else the first missing one ahead (called with the lock)."""
        if self._want is None or self._motion is None or self._rig is None or self._ready_id != self._rig_id:
            return None
        n = self._motion.n_frames
        w = self._clip(self._want)
        if (self._gen, w) not in self.cache:
            return w
        step = -1 if self._direction < 0 else 1
        ahead = int(round((AHEAD_PLAYING_S if self._direction else AHEAD_PAUSED_S) * self._fps))
        for k in range(1, min(ahead, CACHE_FRAMES - 1) + 1):
            j = w + k * step
            if not 0 <= j < n:
                return None
            if (self._gen, j) not in self.cache:
                return j
        return None

    def _keep(self, gen: int, i: int, img: QImage, ms: float) -> None:
        """Store a frame (with the lock); over the limit, drop the frames farthest from the playhead."""
        if gen != self._gen:
            return
        self.cache[(gen, i)] = (img, ms)
        if len(self.cache) > CACHE_FRAMES:
            w = self._want or 0
            for key in sorted(self.cache, key=lambda k: -abs(k[1] - w))[: len(self.cache) - CACHE_FRAMES]:
                del self.cache[key]

    def run(self) -> None:
        while True:
            with self._cv:
                while not self._quit.is_set() and not self._rig_dirty and self._next_target() is None:
                    self._cv.wait(0.5)
                if self._quit.is_set():
                    return
                rig, rig_id, rig_dirty = self._rig, self._rig_id, self._rig_dirty
                self._rig_dirty = False
                motion, gen, target = self._motion, self._gen, None if rig_dirty else self._next_target()
                send_motion = gen != self._sent_gen
            try:
                if rig_dirty:
                    self._prepare(rig, rig_id)
                    continue
                if target is None:
                    continue
                h = self.helper
                with h.lock:
                    if send_motion:
                        h.send(("motion", rig_id, gen, motion))
                        self._sent_gen = gen
                    ans = h.ask(("render", rig_id, gen, target), self._quit)
                if ans is None:
                    continue
                if ans[0] != "frame":
                    self._failed(ans[1])
                    continue
                _, _rid, agen, i, hh, ww, data, ms = ans
                img = QImage(data, ww, hh, 3 * ww, QImage.Format.Format_RGB888).copy()
                with self._cv:
                    self.rendered.append((agen, i))
                    self._keep(agen, i, img, ms)
                    show = agen == self._gen and self._want is not None and self._clip(self._want) == i
                    if show:
                        self._shown = (agen, i)
                self.last_ms = ms
                if show:
                    self.frame_ready.emit(i, img, ms)
            except Exception as exc:  # noqa: BLE001 - shown in the view, never a crash
                log.exception("preview render failed")
                self._failed(str(exc))

    def _prepare(self, rig, rig_id: int) -> None:
        if rig is None:
            with self._cv:
                self._ready_id = 0
            return
        h = self.helper
        with h.lock:
            ans = h.ask(("rig", rig_id, rig, PREVIEW_CROP, PREVIEW_MAX), self._quit)
            self._sent_gen = -1           # the helper keeps one motion per rig: send it again
        if ans is None:
            return
        if ans[0] != "ready":
            self._failed(ans[1])
            return
        with self._cv:
            if rig_id == self._rig_id:
                self._ready_id = rig_id

    def _failed(self, text: str) -> None:
        with self._cv:
            # no retry loop on a frame that fails: wait for the next request or edit
            self._want = None
        self.failed.emit(text)


class PreviewView(QWidget):
    """Draws the latest preview frame, letterboxed, with its time and render cost."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.index = -1
        self.ms = 0.0
        self.fps = 25.0
        self.note = "Load a portrait and a narration, or open the sample (File > New from sample)."
        self.setMinimumSize(160, 120)     # small, so the window fits 1024x640 (the frame is letterboxed)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def show_frame(self, index: int, img: QImage, ms: float) -> None:
        self.image, self.index, self.ms = img, index, ms
        self.update()

    def clear(self, note: str) -> None:
        self.image, self.index, self.note = None, -1, note
        self.update()

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 28))
        if self.image is None:
            p.setPen(QColor(170, 170, 180))
            p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.note)
            return
        iw, ih = self.image.width(), self.image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        r = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(r, self.image)
        p.setFont(QFont(self.font().family(), 9))
        p.setPen(QColor(255, 255, 255, 200))
        t = self.index / self.fps if self.fps else 0
        p.drawText(self.rect().adjusted(8, 4, -8, -4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                   f"frame {self.index}  {t:6.2f} s   render {self.ms:.0f} ms")
