"""The timeline: waveform, words, phones, mouth shapes, scene segments and an emotion lane.

Zoom with Ctrl+wheel (or the +/- keys), scroll with the wheel or the bar
below, click or drag in the ruler/waveform to move the playhead (scrubbing
plays a short grain of audio). Word boundaries, mouth-key edges and scene
segment edges can be dragged; the change becomes one undoable edit when the
mouse is released. A word's phones follow its edges (core.speech.edit), so
a drag changes the mouth. Double-click a word to retype it (its phones are
derived again). The mouth lane shows the automatic mouth shapes; click one
and right-click (or use the keys listed in Help) to swap its shape, change
its strength or silence it: that makes a mouth key, which overrides the
automatic lip-sync there (core.mouth_keys).
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QScrollBar, QSizePolicy, QVBoxLayout, QWidget

from core.mouth_keys import SHAPES, automatic_spans
from core.speech.edit import move_word_edge, retext_word
from core.tracks import EMOTIONS, MouthKey

from app.canvas_cache import CachedCanvas
from app.workers import Runner, Task, while_alive

EMOTION_COLORS = {
    "neutral": QColor(150, 150, 150), "happy": QColor(250, 200, 60), "sad": QColor(80, 130, 230),
    "angry": QColor(230, 70, 60), "surprised": QColor(240, 140, 40), "fearful": QColor(150, 90, 200),
    "disgusted": QColor(90, 170, 80), "contempt": QColor(170, 120, 90),
}
LANES = (("ruler", 18), ("wave", 50), ("words", 24), ("phones", 18), ("mouth", 20), ("scenes", 26),
         ("emotion", 20))
GRAB_PX = 5
STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0)     # the mouth menu's strength choices


def mouth_label(shape: str, strength: float) -> str:
    """How a mouth key is named in the lane: 'O', 'O 150%', 'auto 50%', 'rest'."""
    if shape == "rest":
        return "rest"
    return shape if strength == 1.0 else f"{shape} {strength:.0%}"


def retext_job(alignment, index: int, text: str, *, progress, cancel):
    """Worker: the word's phones read again (the pronunciation dictionary loads on first use)."""
    return retext_word(alignment, index, text)


def place_labels(centres: list[float], widths: list[float], gap: float = 3.0) -> list[tuple[int, float]]:
    """(index, left x) of the labels that can be drawn centred on their spans without touching.

    Greedy from the left: a label that would overlap the last one kept is dropped, so at a
    low zoom every few phones are named and none are drawn over each other.
    """
    kept: list[tuple[int, float]] = []
    right = -1e18
    for i, (c, w) in enumerate(zip(centres, widths)):
        left = c - w / 2
        if left >= right + gap:
            kept.append((i, left))
            right = left + w
    return kept


def emotion_legend_html(classes=EMOTIONS) -> str:
    """The emotion lane's key: a coloured square per class, and what brightness and the white line mean."""
    parts = [f'<span style="color:{EMOTION_COLORS[c].name()}">&#9632;</span>&nbsp;{c}'
             for c in classes if c in EMOTION_COLORS]
    return " &nbsp;".join(parts) + " &nbsp;&middot; bright = strong &middot; line = valence"


class TimelineCanvas(CachedCanvas):
    scene_selected = Signal(int)
    note = Signal(str)             # a line for the status bar

    def __init__(self, session, transport, view, parent=None):
        super().__init__(parent)
        self.session, self.transport, self.view = session, transport, view
        self.setMinimumHeight(sum(h for _, h in LANES) + 4)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.selected_scene = -1
        self.selected_mouth: tuple[float, float] | None = None   # span picked in the mouth lane
        self._drag = None          # (kind, index, edge) while dragging an edge
        self._drag_base = None     # the alignment as it was when a word drag started
        self._scrubbing = False
        self._draft_words = None
        self._draft_scenes = None
        self._draft_mouth = None
        self.menu: QMenu | None = None        # the mouth lane's context menu while it is open
        self.word_editor: QLineEdit | None = None
        self._editing_word = -1
        self.runner = Runner(1, self)         # re-deriving a retyped word's phones
        self.retext_task: Task | None = None
        self.phone_labels: list[tuple[str, float, float]] = []   # (label, left, right) last painted
        y = 0
        self.lane = {}
        for name, h in LANES:
            self.lane[name] = (y, h)
            y += h
        view.changed.connect(self.update)
        transport.position_changed.connect(lambda _t: self.update_playhead())   # content drawn once
        session.changed.connect(lambda _k: self.update())
        session.motion_ready.connect(self.update)
        session.analysis_ready.connect(self.update)
        session.analysis_cleared.connect(self.update)

    # -- data ---------------------------------------------------------------
    def words(self):
        if self._draft_words is not None:
            return self._draft_words
        a = self.session.project.alignment
        if a is None and self.session.analysis is not None:
            a = self.session.analysis.tracks.alignment
        return a

    def scenes(self):
        return self._draft_scenes if self._draft_scenes is not None else self.session.project.scenes

    def mouth_keys(self) -> list[MouthKey]:
        return self._draft_mouth if self._draft_mouth is not None else self.session.project.mouth_keys

    def duration(self) -> float:
        an = self.session.analysis
        return an.tracks.duration if an is not None else (self.view.duration or 1e9)

    def lane_at(self, y: float) -> str:
        for name, (y0, h) in self.lane.items():
            if y0 <= y < y0 + h:
                return name
        return ""

    # -- painting -------------------------------------------------------------
    def paint_static(self, p: QPainter) -> None:
        """Everything but the playhead (kept in a pixmap while only the playhead moves)."""
        p.fillRect(self.rect(), QColor(30, 31, 36))
        W = self.width()
        v = self.view
        t0, t1 = v.t0, v.t_of(W)
        small = QFont(self.font().family(), 8)
        p.setFont(small)
        # lane backgrounds and labels
        for i, (name, (y0, h)) in enumerate(self.lane.items()):
            if i % 2:
                p.fillRect(0, y0, W, h, QColor(36, 37, 43))
        self._paint_ruler(p, t0, t1, W)
        an = self.session.analysis
        if an is None:
            p.setPen(QColor(160, 160, 170))
            y0, h = self.lane["wave"]
            p.drawText(QRectF(0, y0, W, h), Qt.AlignmentFlag.AlignCenter,
                       "The waveform, words, scenes and emotion appear here after analysis.")
        else:
            self._paint_wave(p, an.pyramid, t0, t1, W)
            self._paint_words(p, t0, t1)
            self._paint_mouth(p, t0, t1)
            self._paint_emotion(p, W)
        self._paint_scenes(p, t0, t1)
        p.setPen(QColor(120, 120, 130))
        for name, (y0, h) in self.lane.items():
            if name != "ruler":
                p.drawText(4, y0 + 11, name)

    def paint_overlay(self, p: QPainter) -> None:
        x = self.view.x_of(self.transport.position)
        p.setPen(QPen(QColor(255, 80, 80), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _paint_ruler(self, p: QPainter, t0: float, t1: float, W: int) -> None:
        y0, h = self.lane["ruler"]
        span = max(t1 - t0, 1e-6)
        step = next(s for s in (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 1e9)
                    if s * self.view.pps >= 60)
        p.setPen(QColor(140, 140, 150))
        t = np.floor(t0 / step) * step
        while t <= t1:
            x = self.view.x_of(t)
            p.drawLine(QPointF(x, y0 + h - 6), QPointF(x, y0 + h))
            label = f"{int(t // 60)}:{t % 60:04.1f}" if step < 1 else f"{int(t // 60)}:{int(t % 60):02d}"
            p.drawText(QPointF(x + 3, y0 + h - 8), label)
            t += step
        del span

    def _paint_wave(self, p: QPainter, pyr, t0: float, t1: float, W: int) -> None:
        y0, h = self.lane["wave"]
        lo, hi = pyr.envelope(t0, t1, W)
        mid, amp = y0 + h / 2, h / 2 - 3
        peak = max(float(np.max(np.abs(np.concatenate([lo, hi])))), 1e-3) if len(lo) else 1.0
        gain = min(1.0 / peak, 4.0) * amp
        xs = np.arange(W, dtype=np.float64)
        top = [QPointF(x, mid - float(h_) * gain) for x, h_ in zip(xs, hi)]
        bot = [QPointF(x, mid - float(l_) * gain) for x, l_ in zip(xs[::-1], lo[::-1])]
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(90, 170, 230))
        p.drawPolygon(QPolygonF(top + bot))

    def _paint_words(self, p: QPainter, t0: float, t1: float) -> None:
        a = self.words()
        if a is None:
            return
        yw, hw = self.lane["words"]
        yp, hp = self.lane["phones"]
        if not a.words:
            p.setPen(QColor(150, 150, 160))
            p.drawText(QRectF(60, yw, 900, hw), Qt.AlignmentFlag.AlignVCenter,
                       "no word timings: " + ("; ".join(a.warnings)[:140] or f"alignment source '{a.source}'"))
        fm = QFontMetricsF(p.font())
        for i, w in enumerate(a.words):
            if w.end < t0 or w.start > t1:
                continue
            x0, x1 = self.view.x_of(w.start), self.view.x_of(w.end)
            r = QRectF(x0, yw + 3, max(x1 - x0, 1), hw - 6)
            p.fillRect(r, QColor(70, 110, 90))
            # the word inside its own box, shortened with an ellipsis, or not at all: never over
            # the next word (the tooltip names the word under the mouse)
            text = fm.elidedText(w.text, Qt.TextElideMode.ElideRight, r.width() - 4)
            if text and text != "\u2026":
                p.setPen(QColor(230, 240, 235))
                p.drawText(r.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
            p.setPen(QColor(200, 255, 220))
            p.drawLine(QPointF(x0, yw + 2), QPointF(x0, yw + hw - 2))
            p.drawLine(QPointF(x1, yw + 2), QPointF(x1, yw + hw - 2))
        phones = [ph for ph in a.phones if ph.end >= t0 and ph.start <= t1 and ph.label != "SIL"]
        for ph in phones:
            x0, x1 = self.view.x_of(ph.start), self.view.x_of(ph.end)
            shade = QColor(60, 70, 95) if x1 - x0 >= 3 else QColor(55, 62, 82)
            p.fillRect(QRectF(x0, yp + 2, max(x1 - x0 - 1, 1), hp - 4), shade)
        # labels at every zoom; those that would overlap a neighbour's are dropped
        centres = [self.view.x_of((ph.start + ph.end) / 2) for ph in phones]
        widths = [fm.horizontalAdvance(ph.label) for ph in phones]
        placed = place_labels(centres, widths)
        p.setPen(QColor(200, 210, 240))
        for i, left in placed:
            p.drawText(QRectF(left, yp, widths[i] + 1, hp), Qt.AlignmentFlag.AlignVCenter, phones[i].label)
        self.phone_labels = [(phones[i].label, left, left + widths[i]) for i, left in placed]

    def _paint_mouth(self, p: QPainter, t0: float, t1: float) -> None:
        """The automatic mouth shapes (dim) under the user's mouth keys (bright, outlined)."""
        a = self.words()
        y0, h = self.lane["mouth"]
        fm = QFontMetricsF(p.font())
        if a is not None and a.phones:
            spans = [sp for sp in automatic_spans(a.phones) if sp[1] >= t0 and sp[0] <= t1 and sp[2] != "rest"]
            for s0, s1, _shape in spans:
                x0, x1 = self.view.x_of(s0), self.view.x_of(s1)
                p.fillRect(QRectF(x0, y0 + 3, max(x1 - x0 - 1, 1), h - 6), QColor(60, 80, 75))
            centres = [self.view.x_of((sp[0] + sp[1]) / 2) for sp in spans]
            widths = [fm.horizontalAdvance(sp[2]) for sp in spans]
            p.setPen(QColor(170, 200, 190))
            for i, left in place_labels(centres, widths):
                p.drawText(QRectF(left, y0, widths[i] + 1, h), Qt.AlignmentFlag.AlignVCenter, spans[i][2])
        for k in self.mouth_keys():
            if k.end < t0 or k.start > t1:
                continue
            x0, x1 = self.view.x_of(k.start), self.view.x_of(k.end)
            r = QRectF(x0, y0 + 2, max(x1 - x0, 2), h - 4)
            p.fillRect(r, QColor(150, 70, 120) if k.shape != "rest" else QColor(90, 60, 80))
            p.setPen(QPen(QColor(255, 170, 220), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)      # an outline only (the waveform leaves its brush set)
            p.drawRect(r)
            text = fm.elidedText(mouth_label(k.shape, k.strength), Qt.TextElideMode.ElideRight, r.width() - 3)
            if text and text != "\u2026":
                p.setPen(QColor(255, 235, 245))
                p.drawText(r.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
        if self.selected_mouth is not None:
            s0, s1 = self.selected_mouth
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.view.x_of(s0), y0 + 1, max(self.view.x_of(s1) - self.view.x_of(s0), 2), h - 2))

    def _paint_scenes(self, p: QPainter, t0: float, t1: float) -> None:
        y0, h = self.lane["scenes"]
        for i, s in enumerate(self.scenes()):
            if s.end < t0 or s.start > t1:
                continue
            x0, x1 = self.view.x_of(s.start), self.view.x_of(s.end)
            r = QRectF(x0, y0 + 3, max(x1 - x0, 2), h - 6)
            sel = i == self.selected_scene
            p.fillRect(r, QColor(150, 110, 60) if sel else QColor(110, 85, 55))
            p.setPen(QPen(QColor(255, 220, 160), 2 if sel else 1))
            p.drawRect(r)
            p.setPen(QColor(250, 240, 225))
            p.drawText(r.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, s.text)

    def _paint_emotion(self, p: QPainter, W: int) -> None:
        tr = self.session.tracks
        if tr is None:
            return
        e = tr.emotion
        y0, h = self.lane["emotion"]
        xs = np.arange(0, W, 2)
        idx = np.clip((self.view.t_of(xs) * e.fps).astype(int), 0, e.n_frames - 1)
        inside = (self.view.t_of(xs) >= 0) & (self.view.t_of(xs) <= tr.duration)
        dom = np.argmax(e.probs[idx], 1)
        inten = np.clip(e.intensity[idx], 0, 1)
        for x, k, a, ok in zip(xs, dom, inten, inside):
            if not ok:
                continue
            c = QColor(EMOTION_COLORS.get(e.classes[k], QColor(150, 150, 150)))
            c.setAlpha(int(70 + 185 * a))
            p.fillRect(QRectF(float(x), y0 + 3, 2, h - 6), c)
        # valence as a thin line over the strip
        val = e.valence[idx]
        path = QPainterPath()
        for j, (x, v_) in enumerate(zip(xs, val)):
            pt = QPointF(float(x), y0 + h / 2 - float(v_) * (h / 2 - 3))
            path.moveTo(pt) if j == 0 else path.lineTo(pt)
        p.setPen(QPen(QColor(255, 255, 255, 160), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)

    # -- hit testing ------------------------------------------------------------
    def edge_at(self, x: float, y: float):
        """(kind, index, edge) under the mouse: a word or scene boundary, or None."""
        lane = self.lane_at(y)
        if lane == "words" and self.words() is not None:
            for i, w in enumerate(self.words().words):
                for edge, t in (("start", w.start), ("end", w.end)):
                    if abs(self.view.x_of(t) - x) <= GRAB_PX:
                        return ("word", i, edge)
        if lane == "scenes":
            for i, s in enumerate(self.scenes()):
                for edge, t in (("start", s.start), ("end", s.end)):
                    if abs(self.view.x_of(t) - x) <= GRAB_PX:
                        return ("scene", i, edge)
        if lane == "mouth":
            for i, k in enumerate(self.mouth_keys()):
                for edge, t in (("start", k.start), ("end", k.end)):
                    if abs(self.view.x_of(t) - x) <= GRAB_PX:
                        return ("mouth", i, edge)
        return None

    def word_at(self, x: float) -> int:
        a, t = self.words(), self.view.t_of(x)
        if a is None:
            return -1
        return next((i for i, w in enumerate(a.words) if w.start <= t < w.end), -1)

    def mouth_span_at(self, x: float) -> tuple[float, float, int] | None:
        """(start, end, key index or -1) under x in the mouth lane: a key, else an automatic shape."""
        t = self.view.t_of(x)
        for i, k in enumerate(self.mouth_keys()):
            if k.start <= t < k.end:
                return k.start, k.end, i
        a = self.words()
        if a is None:
            return None
        for s0, s1, _shape in automatic_spans(a.phones):
            if s0 <= t < s1:
                return s0, s1, -1
        return None

    def scene_at(self, x: float) -> int:
        t = self.view.t_of(x)
        for i, s in enumerate(self.scenes()):
            if s.start <= t < s.end:
                return i
        return -1

    # -- mouse ----------------------------------------------------------------
    def mousePressEvent(self, ev) -> None:
        x, y = ev.position().x(), ev.position().y()
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.edge_at(x, y)
        if hit is not None:
            self._drag = hit
            if hit[0] == "word":
                self._drag_base = copy.deepcopy(self.words())
                self._draft_words = copy.deepcopy(self._drag_base)
            elif hit[0] == "mouth":
                self._draft_mouth = copy.deepcopy(self.mouth_keys())
            else:
                self._draft_scenes = copy.deepcopy(self.scenes())
            return
        if self.lane_at(y) == "mouth":
            self.select_mouth(x)
            return
        if self.lane_at(y) == "scenes":
            self.selected_scene = self.scene_at(x)
            self.scene_selected.emit(self.selected_scene)
            self.update()
            return
        self._scrubbing = True
        self.transport.pause()
        self.transport.seek(self.view.t_of(x), scrub=True)

    def mouseMoveEvent(self, ev) -> None:
        x, y = ev.position().x(), ev.position().y()
        if self._drag is not None:
            self._move_edge(self.view.t_of(x))
            self.update()
            return
        if self._scrubbing:
            self.transport.seek(self.view.t_of(x), scrub=True)
            return
        self.setCursor(Qt.CursorShape.SizeHorCursor if self.edge_at(x, y) else Qt.CursorShape.ArrowCursor)
        self.setToolTip(self.describe_at(x, y))

    def describe_at(self, x: float, y: float) -> str:
        """What is under the mouse, for the tooltip: labels are elided or dropped at low zoom."""
        lane, t = self.lane_at(y), self.view.t_of(x)
        a = self.words()
        if lane in ("words", "phones") and a is not None:
            items = a.words if lane == "words" else [ph for ph in a.phones if ph.label != "SIL"]
            for it in items:
                if it.start <= t < it.end:
                    return f"{getattr(it, 'text', None) or it.label}  {it.start:.2f}-{it.end:.2f} s"
            return ""
        if lane == "mouth":
            hit = self.mouth_span_at(x)
            if hit is None:
                return ""
            s0, s1, i = hit
            if i >= 0:
                k = self.mouth_keys()[i]
                return (f"mouth key: {mouth_label(k.shape, k.strength)} ({SHAPES[k.shape][0]})  {s0:.2f}-{s1:.2f} s"
                        "\nright-click to change; Delete goes back to automatic")
            shape = next(sp[2] for sp in automatic_spans(a.phones) if sp[0] == s0)
            return f"automatic: {shape} ({SHAPES[shape][0]})  {s0:.2f}-{s1:.2f} s\nright-click to change it"
        tr = self.session.tracks
        if lane == "emotion" and tr is not None and 0 <= t <= tr.duration:
            e = tr.emotion
            i = int(np.clip(t * e.fps, 0, e.n_frames - 1))
            k = int(np.argmax(e.probs[i]))
            return (f"{e.classes[k]} ({e.probs[i, k]:.0%}), intensity {float(e.intensity[i]):.2f}, "
                    f"valence {float(e.valence[i]):+.2f}, arousal {float(e.arousal[i]):+.2f}")
        return ""

    def _move_edge(self, t: float) -> None:
        kind, i, edge = self._drag
        if kind == "word":
            # the word's phones follow its edge, so the mouth (and the preview) follows the drag
            self._draft_words = move_word_edge(self._drag_base, i, edge, t, self.duration())
            return
        items = self._draft_mouth if kind == "mouth" else self._draft_scenes
        item = items[i]
        prev_end = items[i - 1].end if i > 0 else 0.0
        next_start = items[i + 1].start if i + 1 < len(items) else self.view.duration or 1e9
        min_len = 0.02
        if edge == "start":
            item.start = float(np.clip(t, prev_end, item.end - min_len))
        else:
            item.end = float(np.clip(t, item.start + min_len, next_start))

    def mouseReleaseEvent(self, ev) -> None:
        if self._drag is not None:
            kind = self._drag[0]
            if kind == "word":
                draft, self._draft_words, self._drag_base = self._draft_words, None, None
                self.session.edit("alignment", draft, "Move word timing")
            elif kind == "mouth":
                draft, self._draft_mouth = self._draft_mouth, None
                self.session.edit("mouth_keys", draft, "Move mouth key edge")
                i = self._drag[1]
                self.selected_mouth = (draft[i].start, draft[i].end) if i < len(draft) else None
            else:
                draft, self._draft_scenes = self._draft_scenes, None
                self.session.edit("scenes", draft, "Move scene edge")
            self._drag = None
            self.update()
        self._scrubbing = False

    # -- mouth keys ---------------------------------------------------------------
    def select_mouth(self, x: float) -> tuple[float, float, int] | None:
        hit = self.mouth_span_at(x)
        self.selected_mouth = None if hit is None else (hit[0], hit[1])
        self.update()
        return hit

    def set_mouth(self, span: tuple[float, float], shape: str | None = None, strength: float | None = None) -> None:
        """Make (or change) the mouth key over ``span``: a new shape and/or strength; one undo step."""
        keys = copy.deepcopy(self.session.project.mouth_keys)
        s0, s1 = span
        i = next((j for j, k in enumerate(keys) if abs(k.start - s0) < 1e-6 and abs(k.end - s1) < 1e-6), -1)
        if i < 0:
            # a new key replaces any key it overlaps
            keys = [k for k in keys if k.end <= s0 or k.start >= s1]
            keys.append(MouthKey(round(s0, 4), round(s1, 4), shape or "auto", 1.0 if strength is None else strength))
            keys.sort(key=lambda k: k.start)
        else:
            if shape is not None:
                keys[i].shape = shape
            if strength is not None:
                keys[i].strength = strength
        k = next(k for k in keys if abs(k.start - s0) < 1e-6)
        what = "Silence mouth" if k.shape == "rest" else f"Mouth {mouth_label(k.shape, k.strength)}"
        self.session.edit("mouth_keys", keys, what)
        self.selected_mouth = (k.start, k.end)
        self.update()

    def clear_mouth(self, span: tuple[float, float]) -> None:
        """Back to the automatic mouth over ``span`` (its key is removed)."""
        keys = [k for k in self.session.project.mouth_keys
                if not (abs(k.start - span[0]) < 1e-6 and abs(k.end - span[1]) < 1e-6)]
        if len(keys) != len(self.session.project.mouth_keys):
            self.session.edit("mouth_keys", copy.deepcopy(keys), "Automatic mouth")
        self.update()

    def mouth_menu(self, x: float) -> QMenu | None:
        """Shape / strength / silence / automatic for the mouth span under x (shown without blocking)."""
        hit = self.select_mouth(x)
        if hit is None:
            return None
        s0, s1, i = hit
        key = self.mouth_keys()[i] if i >= 0 else None
        span = (s0, s1)
        menu = QMenu(self)
        menu.setObjectName("mouthMenu")
        menu.addSection(f"Mouth {s0:.2f}-{s1:.2f} s")
        shapes = menu.addMenu("Shape")
        group = QActionGroup(menu)
        for name, (words, _ph) in SHAPES.items():
            if name == "rest":
                continue
            a = QAction(f"{name}: {words}", menu)
            a.setObjectName(f"shape:{name}")
            a.setCheckable(True)
            a.setChecked(key is not None and key.shape == name)
            a.triggered.connect(lambda _c=False, n=name: self.set_mouth(span, shape=n))
            group.addAction(a)
            shapes.addAction(a)
        strengths = menu.addMenu("Strength")
        for v in STRENGTHS:
            a = strengths.addAction(f"{v:.0%}")
            a.setObjectName(f"strength:{v:g}")
            a.setCheckable(True)
            a.setChecked(key is not None and key.strength == v)
            a.triggered.connect(lambda _c=False, v=v: self.set_mouth(span, strength=v))
        a = menu.addAction("Silence (mouth at rest)")
        a.setObjectName("silence")
        a.triggered.connect(lambda: self.set_mouth(span, shape="rest"))
        a = menu.addAction("Back to automatic")
        a.setObjectName("automatic")
        a.setEnabled(key is not None)
        a.triggered.connect(lambda: self.clear_mouth(span))
        self.menu = menu
        return menu

    def contextMenuEvent(self, ev) -> None:
        if self.lane_at(ev.pos().y()) == "mouth":
            menu = self.mouth_menu(ev.pos().x())
            if menu is not None:
                menu.popup(ev.globalPos())
                ev.accept()
                return
        ev.ignore()

    def keyPressEvent(self, ev) -> None:
        if self.selected_mouth is not None and ev.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_mouth(self.selected_mouth)
            ev.accept()
            return
        super().keyPressEvent(ev)

    # -- word text ----------------------------------------------------------------
    def mouseDoubleClickEvent(self, ev) -> None:
        x, y = ev.position().x(), ev.position().y()
        if self.lane_at(y) == "words" and self.edit_word(self.word_at(x)):
            ev.accept()
            return
        super().mouseDoubleClickEvent(ev)

    def edit_word(self, i: int) -> QLineEdit | None:
        """Retype word ``i`` in place: Enter applies (its phones are derived again), Esc cancels."""
        a = self.words()
        if a is None or not 0 <= i < len(a.words) or self.retext_task is not None:
            return None
        w = a.words[i]
        x0, x1 = self.view.x_of(w.start), self.view.x_of(w.end)
        y0, h = self.lane["words"]
        ed = self.word_editor
        if ed is None:
            ed = QLineEdit(self)
            ed.setObjectName("wordEditor")
            ed.setToolTip("Enter: use this word (its phones are read again); Esc: leave it")
            ed.returnPressed.connect(self._word_entered)
            ed.installEventFilter(self)
        ed.setText(w.text)
        ed.selectAll()
        ed.setGeometry(int(x0), y0, int(max(x1 - x0, 90)), h)
        self.word_editor, self._editing_word = ed, i
        ed.show()
        ed.setFocus()
        return ed

    def eventFilter(self, obj, ev) -> bool:
        from PySide6.QtCore import QEvent

        if obj is self.word_editor and ev.type() == QEvent.Type.KeyPress and ev.key() == Qt.Key.Key_Escape:
            self.word_editor.hide()
            self._editing_word = -1
            return True
        return super().eventFilter(obj, ev)

    def _word_entered(self) -> None:
        ed, i = self.word_editor, self._editing_word
        ed.hide()
        self._editing_word = -1
        a = self.words()
        text = ed.text().strip()
        if a is None or not 0 <= i < len(a.words) or text == a.words[i].text:
            return
        old = a.words[i].text
        task = Task(retext_job, copy.deepcopy(a), i, text, name="retext")
        self.retext_task = task

        def done(new, old=old, text=text):
            self.session.edit("alignment", new, f"Retype '{old}' as '{text}'")
            self.note.emit(f"'{old}' is now '{text}': its phones were read again.")

        def failed(exc):
            from app.errors import message_for

            self.note.emit(f"Word not changed: {message_for(exc).splitlines()[0]}")

        def finished(t=task):
            if self.retext_task is t:
                self.retext_task = None

        task.signals.done.connect(while_alive(self, done))
        task.signals.failed.connect(while_alive(self, failed))
        task.signals.finished.connect(while_alive(self, finished))
        self.runner.start(task)

    def wheelEvent(self, ev) -> None:
        d = ev.angleDelta().y() or ev.angleDelta().x()
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.view.zoom(1.25 if d > 0 else 0.8, self.view.t_of(ev.position().x()))
        else:
            self.view.set(t0=self.view.t0 - d / 120 * 60 / self.view.pps)
        ev.accept()


class Timeline(QWidget):
    """The canvas with a horizontal scroll bar bound to the shared TimeView."""

    def __init__(self, session, transport, view, parent=None):
        super().__init__(parent)
        self.view = view
        self.canvas = TimelineCanvas(session, transport, view, self)
        self.bar = QScrollBar(Qt.Orientation.Horizontal, self)
        # what the emotion lane's colours mean, under the lanes (clipped on a narrow window; the
        # tooltip has all of it)
        self.legend = QLabel(emotion_legend_html())
        self.legend.setObjectName("emotionLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setToolTip("Emotion lane: the strongest class over time<br>"
                               + emotion_legend_html().replace("&nbsp;&middot;", "<br>"))
        small = QFont(self.legend.font())
        small.setPointSize(max(small.pointSize() - 1, 7))
        self.legend.setFont(small)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.legend.setContentsMargins(4, 0, 4, 0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.canvas)
        lay.addWidget(self.legend)
        lay.addWidget(self.bar)
        self.bar.valueChanged.connect(lambda v: view.set(t0=v / 100.0) if abs(v / 100.0 - view.t0) > 0.005 else None)
        view.changed.connect(self._sync_bar)
        transport.position_changed.connect(self._follow)
        self.transport = transport

    def _sync_bar(self) -> None:
        v = self.view
        visible = self.canvas.width() / v.pps
        self.bar.blockSignals(True)
        self.bar.setRange(0, int(max(v.duration - visible, 0) * 100))
        self.bar.setPageStep(int(visible * 100))
        self.bar.setValue(int(v.t0 * 100))
        self.bar.blockSignals(False)

    def _follow(self, t: float) -> None:
        """While playing, page the view so the playhead stays visible."""
        if not self.transport.playing:
            return
        x = self.view.x_of(t)
        if x > self.canvas.width() - 20 or x < 0:
            self.view.set(t0=t - 20 / self.view.pps)
