"""Canvases that repaint only the playhead when only the playhead moves.

The timeline and the curve editor used to repaint everything (waveform,
words, phones, mouth shapes, curves: 20-40 ms on the sample) on every tick of
the playback clock, 66 times a second, which left the event loop too little
time to show every preview frame. A ``CachedCanvas`` draws its content once
into a pixmap (``paint_static``) and on a playhead move only draws that
pixmap and the playhead line (``paint_overlay``).

Any ``update()`` called from Python means the content changed and redraws it;
``update_playhead()`` does not. Repaints Qt itself asks for (an expose) reuse
the pixmap; a new size or screen scale redraws it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QWidget


class CachedCanvas(QWidget):
    static_paints = 0        # how many times the content was drawn (a class-wide counter for tests)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._static: QPixmap | None = None

    def update(self, *args) -> None:  # noqa: D102 - the content changed
        self._static = None
        super().update(*args)

    def update_playhead(self) -> None:
        QWidget.update(self)

    def paint_static(self, p: QPainter) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def paint_overlay(self, p: QPainter) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def paintEvent(self, _ev) -> None:
        dpr = self.devicePixelRatioF()
        want = QSize(max(int(self.width() * dpr), 1), max(int(self.height() * dpr), 1))
        if self._static is None or self._static.size() != want:
            pm = QPixmap(want)
            pm.setDevicePixelRatio(dpr)
            pm.fill(Qt.GlobalColor.transparent)
            sp = QPainter(pm)
            self.paint_static(sp)
            sp.end()
            self._static = pm
            CachedCanvas.static_paints += 1
        p = QPainter(self)
        p.drawPixmap(0, 0, self._static)
        self.paint_overlay(p)
        p.end()
