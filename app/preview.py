"""Live preview: the mesh renderer on a background thread at preview size.

The GUI asks for a frame index (latest request wins: while playing, frames
the renderer could not reach in time are skipped, never queued); the thread
renders it with core's MeshRenderer and hands back a QImage. A new rig
re-prepares the renderer; a new motion track (after an edit) re-renders the
current frame, so edits show without re-analysis.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger("synchrorama.app")

PREVIEW_CROP = 256     # face-crop work resolution while previewing
PREVIEW_MAX = 480      # long side of the preview frame


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class PreviewEngine(QThread):
    frame_ready = Signal(int, QImage, float)   # frame index, image, milliseconds
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cv = threading.Condition()
        self._rig = None
        self._rig_dirty = False
        self._motion = None
        self._want: int | None = None
        self._quit = False
        self.renderer = None
        self.last_ms = 0.0

    def set_rig(self, rig) -> None:
        with self._cv:
            self._rig, self._rig_dirty = rig, True
            self._cv.notify()

    def set_motion(self, motion, rerender: int | None = None) -> None:
        with self._cv:
            self._motion = motion
            if rerender is not None:
                self._want = rerender
            self._cv.notify()

    def request(self, index: int) -> None:
        with self._cv:
            self._want = int(index)
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._quit = True
            self._cv.notify()
        self.wait(5000)

    def run(self) -> None:
        from core.render.base import make_renderer

        while True:
            with self._cv:
                while not self._quit and not self._rig_dirty and (self._want is None or self._motion is None
                                                                  or self._rig is None):
                    self._cv.wait()
                if self._quit:
                    return
                rig, rig_dirty, motion, want = self._rig, self._rig_dirty, self._motion, self._want
                self._rig_dirty = False
                if not rig_dirty:
                    self._want = None
            try:
                if rig_dirty:
                    self.renderer = None
                    if rig is not None:
                        r = make_renderer("mesh", size=PREVIEW_CROP, max_output=PREVIEW_MAX)
                        r.prepare(rig, PREVIEW_CROP)
                        self.renderer = r
                    continue
                if self.renderer is None or motion is None or want is None:
                    continue
                i = int(np.clip(want, 0, motion.n_frames - 1))
                t = time.perf_counter()
                # one frame through the renderer protocol, as an export draws it
                frame = next(self.renderer.frames(motion, None, start=i, stop=i + 1))
                img = to_qimage(frame)
                self.last_ms = (time.perf_counter() - t) * 1000
                self.frame_ready.emit(i, img, self.last_ms)
            except Exception as exc:  # noqa: BLE001 - shown in the view, never a crash
                log.exception("preview render failed")
                self.failed.emit(str(exc))


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
