"""Emotion curve editor: keyframes over the analysed curve shown as a guide.

Double-click adds a key; drag keys (all selected ones move together) or the
Bezier handles of a selected key; click selects, Shift-click adds to the
selection, dragging on empty space selects a range. Delete removes keys,
Ctrl+C / Ctrl+V copy and paste them at the playhead, and "Reset to auto"
hands the selected stretch back to the analysis. Each gesture is one undo
step (the ``curves`` field of the project).
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPainterPath, QPen, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from core.emotion.curves import CHANNELS, evaluate_keys

from app import curve_ops as ops
from app.canvas_cache import CachedCanvas

CHANNEL_COLORS = {"valence": QColor(120, 220, 140), "arousal": QColor(240, 150, 80),
                  "intensity": QColor(230, 230, 120)}
PICK_PX = 6
# what each curve does to the face (core.emotion.face and core.motion.a2m), shown beside the
# curve picker so a user knows which curve to reach for; the top / bottom words label the axis
CHANNEL_HELP: dict[str, str] = {
    "valence": "smile <-> frown: mouth corners and cheeks (up = smile, down = frown)",
    "arousal": "eyes and brows, head energy: up = eyes wide, brows raised, livelier head; down = calm",
    "intensity": "how strongly the emotion shows: 0 = none, 1 = full, 1.5 = exaggerated",
    "neutral": "share of the plain face: more neutral = less of every other emotion",
    "happy": "smile and raised cheeks, chin a little up",
    "sad": "inner brows up, mouth corners down, head lowers and slows",
    "surprised": "brows and upper lids up, mouth opens round, chin up",
    "fearful": "brows up and drawn together, eyes wide, lips stretched",
    "angry": "brows down, lids tight, upper lip raised, head a little down",
    "disgusted": "nose wrinkle, upper lip raised, mouth corners down",
    "contempt": "one mouth corner pulled up, head tilted, chin up",
}
AXIS_ENDS: dict[str, tuple[str, str]] = {
    "valence": ("smile", "frown"), "arousal": ("alert", "calm"), "intensity": ("strong", "none"),
}


def channel_help(channel: str) -> str:
    """One line saying what a curve changes on the face ('' for an unknown channel)."""
    return CHANNEL_HELP.get(channel, "")


def axis_ends(channel: str) -> tuple[str, str]:
    """Words for the top and bottom of the value axis: an emotion class goes from 'all <class>' to 'none'."""
    return AXIS_ENDS.get(channel, (f"all {channel}", "none"))
CANVAS_MIN_H = 120     # five value lines ~25 px apart: keys can still be placed and dragged


class CurveCanvas(CachedCanvas):
    def __init__(self, editor: "CurveEditor"):
        super().__init__(editor)
        self.ed = editor
        self.setMinimumHeight(CANVAS_MIN_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._drag = None        # ("keys", start_pos, originals) | ("handle", key, side) | ("band", start)
        self._band: QRectF | None = None
        self._changed = False

    # -- coordinates ----------------------------------------------------------
    def y_of(self, v: float) -> float:
        lo, hi = ops.value_range(self.ed.channel)
        return 10 + (hi - v) / (hi - lo) * (self.height() - 20)

    def v_of(self, y: float) -> float:
        lo, hi = ops.value_range(self.ed.channel)
        return hi - (y - 10) / max(self.height() - 20, 1) * (hi - lo)

    def pos_of(self, t: float, v: float) -> QPointF:
        return QPointF(self.ed.view.x_of(t), self.y_of(v))

    # -- painting -------------------------------------------------------------
    def paint_static(self, p: QPainter) -> None:
        """Grid, curves, keys and the selection band: everything but the playhead."""
        ed = self.ed
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(28, 29, 34))
        W = self.width()
        lo, hi = ops.value_range(ed.channel)
        p.setPen(QColor(60, 62, 70))
        for v in np.linspace(lo, hi, 5):
            p.drawLine(QPointF(0, self.y_of(v)), QPointF(W, self.y_of(v)))
            p.drawText(QPointF(4, self.y_of(v) + (11 if v >= hi else -2)), f"{v:+.2f}" if lo < 0 else f"{v:.2f}")
        top, bottom = axis_ends(ed.channel)
        p.setPen(QColor(150, 152, 165))
        right = Qt.AlignmentFlag.AlignRight
        p.drawText(QRectF(0, self.y_of(hi) + 1, W - 6, 14), right | Qt.AlignmentFlag.AlignTop, top)
        p.drawText(QRectF(0, self.y_of(lo) - 15, W - 6, 14), right | Qt.AlignmentFlag.AlignBottom, bottom)
        xs = np.arange(0, W, 2, dtype=np.float64)
        ts = ed.view.t_of(xs)
        dur = ed.view.duration
        inside = (ts >= 0) & (ts <= dur)
        color = CHANNEL_COLORS.get(ed.channel, QColor(200, 160, 240))
        guide = ed.guide()
        if guide is not None:
            fps, vals = guide
            g = vals[np.clip((ts * fps).astype(int), 0, len(vals) - 1)]
            self._polyline(p, xs[inside], g[inside], QPen(QColor(140, 140, 150, 150), 2, Qt.PenStyle.DashLine))
        eff = ed.effective()
        if eff is not None:
            fps, vals = eff
            e = vals[np.clip((ts * fps).astype(int), 0, len(vals) - 1)]
            self._polyline(p, xs[inside], e[inside], QPen(QColor(255, 255, 255, 70), 1))
        keys = ed.keys()
        if keys:
            cv = evaluate_keys(keys, ts)
            self._polyline(p, xs[inside], cv[inside], QPen(color, 2))
        for i, k in enumerate(keys):
            pt = self.pos_of(k.t, k.v)
            sel = id(k) in ed.selected
            if sel:
                self._handles(p, keys, i, pt)
            p.setPen(QPen(QColor(255, 255, 255), 1))
            p.setBrush(QColor(255, 230, 90) if sel else color.darker(130))
            path = {"constant": self._square, "linear": self._diamond, "bezier": self._circle}[k.interp]
            path(p, pt)
        if self._band is not None:
            p.setPen(QPen(QColor(255, 255, 255, 140), 1, Qt.PenStyle.DashLine))
            p.setBrush(QColor(255, 255, 255, 25))
            p.drawRect(self._band)
        if not keys:
            p.setPen(QColor(170, 170, 180))
            p.drawText(self.rect().adjusted(0, 0, 0, -6), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                       f"{ed.channel}: follows the analysis (dashed). Double-click to add a key.")

    def paint_overlay(self, p: QPainter) -> None:
        x = self.ed.view.x_of(self.ed.transport.position)
        p.setPen(QPen(QColor(255, 80, 80), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _polyline(self, p, xs, vs, pen) -> None:
        if len(xs) < 2:
            return
        path = QPainterPath(QPointF(xs[0], self.y_of(vs[0])))
        for x, v in zip(xs[1:], vs[1:]):
            path.lineTo(x, self.y_of(float(v)))
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)

    def _handle_points(self, keys, i):
        """(side, key, point) of the handles a selected key shows."""
        k = keys[i]
        out = []
        if k.interp == "bezier" and i + 1 < len(keys):
            out.append(("out", k, self.pos_of(k.t + k.out_handle[0], k.v + k.out_handle[1])))
        if i > 0 and keys[i - 1].interp == "bezier":
            out.append(("in", k, self.pos_of(k.t + k.in_handle[0], k.v + k.in_handle[1])))
        return out

    def _handles(self, p, keys, i, pt) -> None:
        for _side, _k, hp in self._handle_points(keys, i):
            p.setPen(QPen(QColor(200, 200, 255), 1))
            p.drawLine(pt, hp)
            p.setBrush(QColor(200, 200, 255))
            p.drawEllipse(hp, 3.5, 3.5)

    def _square(self, p, pt):
        p.drawRect(QRectF(pt.x() - 4, pt.y() - 4, 8, 8))

    def _circle(self, p, pt):
        p.drawEllipse(pt, 4.5, 4.5)

    def _diamond(self, p, pt):
        from PySide6.QtGui import QPolygonF

        p.drawPolygon(QPolygonF([QPointF(pt.x(), pt.y() - 5), QPointF(pt.x() + 5, pt.y()),
                                 QPointF(pt.x(), pt.y() + 5), QPointF(pt.x() - 5, pt.y())]))

    # -- hit tests ------------------------------------------------------------
    def key_at(self, pos: QPointF):
        for k in self.ed.keys():
            q = self.pos_of(k.t, k.v)
            if abs(q.x() - pos.x()) <= PICK_PX and abs(q.y() - pos.y()) <= PICK_PX:
                return k
        return None

    def handle_at(self, pos: QPointF):
        keys = self.ed.keys()
        for i, k in enumerate(keys):
            if id(k) in self.ed.selected:
                for side, key, hp in self._handle_points(keys, i):
                    if abs(hp.x() - pos.x()) <= PICK_PX and abs(hp.y() - pos.y()) <= PICK_PX:
                        return key, side
        return None

    # -- mouse ----------------------------------------------------------------
    def mouseDoubleClickEvent(self, ev) -> None:
        if self.ed.view.duration <= 0:
            return
        pos = ev.position()
        if self.key_at(pos) is None:
            self.ed.add_key(self.ed.view.t_of(pos.x()), self.v_of(pos.y()))

    def mousePressEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        self.setFocus()
        pos = ev.position()
        ed = self.ed
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        h = self.handle_at(pos)
        if h is not None:
            ed.begin()
            self._drag = ("handle", h[0], h[1])
            return
        k = self.key_at(pos)
        if k is not None:
            if shift:
                ed.selected.symmetric_difference_update({id(k)})
            elif id(k) not in ed.selected:
                ed.selected = {id(k)}
            ed.begin()
            sel = ed.selected_keys()
            self._drag = ("keys", pos, [(key, key.t, key.v) for key in sel])
            self.update()
            return
        if not shift:
            ed.selected = set()
        self._drag = ("band", pos)
        self._band = QRectF(pos, pos)
        ed._update_buttons()
        self.update()

    def mouseMoveEvent(self, ev) -> None:
        if self._drag is None:
            over = self.key_at(ev.position()) or self.handle_at(ev.position())
            self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
            return
        pos = ev.position()
        kind = self._drag[0]
        ed = self.ed
        if kind == "keys":
            start, orig = self._drag[1], self._drag[2]
            dt = (pos.x() - start.x()) / ed.view.pps
            dv = self.v_of(pos.y()) - self.v_of(start.y())
            for key, t, v in orig:
                key.t = max(0.0, t + dt)
                key.v = ops.clamp(ed.channel, v + dv)
            ed.draft_sort()
            self._changed = True
        elif kind == "handle":
            key, side = self._drag[1], self._drag[2]
            dt = ed.view.t_of(pos.x()) - key.t
            dv = self.v_of(pos.y()) - key.v
            if side == "out":
                key.out_handle = (max(dt, 0.0), dv)
            else:
                key.in_handle = (min(dt, 0.0), dv)
            self._changed = True
        elif kind == "band":
            self._band = QRectF(self._drag[1], pos).normalized()
            ed.selected |= {id(k) for k in ed.keys() if self._band.contains(self.pos_of(k.t, k.v))}
        self.update()

    def mouseReleaseEvent(self, ev) -> None:
        if self._drag is None:
            return
        kind = self._drag[0]
        if kind == "band" and self._band is not None:
            ed = self.ed
            ed.band_range = (ed.view.t_of(self._band.left()), ed.view.t_of(self._band.right()))
        if kind in ("keys", "handle") and self._changed:
            self.ed.commit("Move keys" if kind == "keys" else "Bezier handle")
        elif kind in ("keys", "handle"):
            self.ed.cancel_draft()
        self._drag, self._band, self._changed = None, None, False
        self.ed._update_buttons()
        self.update()


class CurveEditor(QWidget):
    def __init__(self, session, transport, view, parent=None):
        super().__init__(parent)
        self.session, self.transport, self.view = session, transport, view
        self.channel = "valence"
        self.curves = ops.to_curves(session.project.curves)
        self.selected: set[int] = set()
        self.band_range: tuple[float, float] | None = None
        self.clip = None
        self._drafting = False

        self.combo = QComboBox()
        self.combo.addItems(list(CHANNELS))
        for i, name in enumerate(CHANNELS):
            self.combo.setItemData(i, channel_help(name), Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("Which curve to edit: valence, arousal, overall intensity, or one emotion's share")
        self.combo.currentTextChanged.connect(self.set_channel)
        self.help = QLabel("")
        self.help.setObjectName("curveHelp")
        self.help.setStyleSheet("color: palette(mid);")
        # clipped rather than widening the editor past a 1024-wide window; the tooltip has it whole
        self.help.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # two rows (curve choice, then key tools) so the editor fits the centre of a 1024-wide window
        head = QHBoxLayout()
        head.addWidget(QLabel("Curve"))
        head.addWidget(self.combo)
        head.addWidget(self.help, 1)
        bar = QHBoxLayout()
        self.buttons = {}
        for interp, tip in (("constant", "Hold the value until the next key"),
                            ("linear", "Straight ramp to the next key"),
                            ("bezier", "Smooth curve with draggable handles")):
            b = QPushButton(interp.capitalize())
            b.setToolTip(tip + " (applies to the selected keys)")
            b.clicked.connect(lambda _c=False, i=interp: self.set_interp(i))
            bar.addWidget(b)
            self.buttons[interp] = b
        self.btn_delete = QPushButton("Delete")
        self.btn_delete.setToolTip("Delete the selected keys (Del)")
        self.btn_delete.clicked.connect(self.delete_selected)
        self.btn_reset = QPushButton("Reset to auto")
        self.btn_reset.setToolTip("Give the selected stretch (keys or dragged range) back to the analysis")
        self.btn_reset.clicked.connect(self.reset_selection)
        bar.addWidget(self.btn_delete)
        bar.addWidget(self.btn_reset)
        bar.addStretch(1)
        self.info = QLabel("")
        head.addWidget(self.info)
        self.canvas = CurveCanvas(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 0)
        lay.setSpacing(2)
        head.setContentsMargins(4, 0, 8, 0)
        bar.setContentsMargins(4, 0, 8, 0)
        lay.addLayout(head)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)
        for seq, fn in ((QKeySequence.StandardKey.Delete, self.delete_selected),
                        (QKeySequence.StandardKey.Copy, self.copy), (QKeySequence.StandardKey.Paste, self.paste),
                        (QKeySequence.StandardKey.SelectAll, self.select_all)):
            sc = QShortcut(QKeySequence(seq), self.canvas)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        sc = QShortcut(QKeySequence(Qt.Key.Key_Backspace), self.canvas)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.delete_selected)
        self._show_help()
        session.changed.connect(self._on_changed)
        session.project_loaded.connect(lambda: self._on_changed("curves"))
        session.motion_ready.connect(self.canvas.update)
        session.analysis_ready.connect(self.canvas.update)
        view.changed.connect(self.canvas.update)
        transport.position_changed.connect(lambda _t: self.canvas.update_playhead())
        self._update_buttons()

    # -- state -----------------------------------------------------------------
    def _on_changed(self, key: str) -> None:
        if key == "curves" and not self._drafting:
            self.curves = ops.to_curves(self.session.project.curves)
            ids = {id(k) for k in self.keys()}
            self.selected &= ids
            self._update_buttons()
            self.canvas.update()

    def set_channel(self, name: str) -> None:
        self.channel = name
        if self.combo.currentText() != name:
            self.combo.setCurrentText(name)
        self.selected = set()
        self.band_range = None
        self._show_help()
        self._update_buttons()
        self.canvas.update()

    def _show_help(self) -> None:
        text = channel_help(self.channel)
        self.help.setText(text)
        self.help.setToolTip(f"{self.channel}: {text}")

    def keys(self):
        return ops.keys_of(self.curves, self.channel)

    def selected_keys(self):
        return [k for k in self.keys() if id(k) in self.selected]

    def guide(self):
        an = self.session.analysis
        if an is None:
            return None
        e = an.tracks.emotion
        return e.fps, ops.guide_values(e, self.channel)

    def effective(self):
        tr = self.session.tracks
        if tr is None:
            return None
        return tr.emotion.fps, ops.guide_values(tr.emotion, self.channel)

    def _update_buttons(self) -> None:
        n = len(self.selected)
        for b in self.buttons.values():
            b.setEnabled(n > 0)
        self.btn_delete.setEnabled(n > 0)
        self.btn_reset.setEnabled(bool(self.keys()) and (n > 0 or self.band_range is not None))
        self.info.setText(f"{len(self.keys())} keys, {n} selected" if self.keys() else "auto")

    # -- edits -------------------------------------------------------------------
    def begin(self) -> None:
        self._drafting = True

    def draft_sort(self) -> None:
        ch = self.curves.channels.get(self.channel)
        if ch:
            ch.keys.sort(key=lambda k: k.t)

    def cancel_draft(self) -> None:
        self._drafting = False
        self._update_buttons()

    def commit(self, text: str) -> None:
        """Push the edited curves as one undo step, keeping the selection."""
        sel_pos = [(k.t, k.v) for k in self.selected_keys()]
        self._drafting = False
        self.session.edit("curves", ops.to_doc(copy.deepcopy(self.curves)), f"{text} ({self.channel})")
        self.curves = ops.to_curves(self.session.project.curves)
        self.selected = {id(k) for k in self.keys() if any(abs(k.t - t) < 1e-3 and abs(k.v - v) < 1e-3
                                                           for t, v in sel_pos)}
        self._update_buttons()
        self.canvas.update()

    def add_key(self, t: float, v: float) -> None:
        t = float(np.clip(t, 0.0, self.view.duration))
        k = ops.add_key(self.curves, self.channel, round(t, 3), v)
        self.selected = {id(k)}
        self.commit("Add key")

    def delete_selected(self) -> None:
        sel = self.selected_keys()
        if sel:
            ops.delete_keys(self.curves, self.channel, sel)
            self.selected = set()
            self.commit("Delete keys")

    def set_interp(self, interp: str) -> None:
        sel = self.selected_keys()
        if sel:
            ops.set_interp(self.curves, self.channel, sel, interp)
            self.commit(f"Interpolation {interp}")

    def select_all(self) -> None:
        self.selected = {id(k) for k in self.keys()}
        self._update_buttons()
        self.canvas.update()

    def copy(self) -> None:
        self.clip = ops.copy_keys(self.selected_keys())
        if self.clip:
            self.session.message.emit(f"Copied {len(self.clip.keys)} keys")

    def paste(self) -> None:
        if not self.clip:
            return
        pasted = ops.paste_keys(self.curves, self.channel, self.clip, self.transport.position)
        self.selected = {id(k) for k in pasted}
        self.commit("Paste keys")

    def reset_selection(self) -> None:
        sel = self.selected_keys()
        if len(sel) >= 1:
            t0, t1 = min(k.t for k in sel), max(k.t for k in sel)
        elif self.band_range is not None:
            t0, t1 = self.band_range
        else:
            return
        g = self.guide()
        if g is None:
            return
        fps, vals = g
        ops.reset_range(self.curves, self.channel, t0, t1, (np.arange(len(vals)) + 0.5) / fps, vals)
        self.selected = set()
        self.band_range = None
        self.commit("Reset to auto")
