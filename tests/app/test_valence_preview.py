"""A valence or arousal key in the curve editor changes the preview face (emotion issue, part 2)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage


def _array(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def _frame_after(win, qtbot, edit) -> np.ndarray:
    """The preview frame rendered from the motion that follows ``edit``."""
    edit()
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=20000)
    qtbot.wait(1500)   # let renders queued by the intermediate edits drain
    motion = win.session.tracks.motion
    with qtbot.waitSignal(win.engine.frame_ready, timeout=20000,
                          check_params_cb=lambda i, img, ms: i == win.transport.frame()):
        win.engine.set_motion(motion, rerender=win.transport.frame())
    return _array(win.preview.image)


def _click_key(win, qtbot, channel: str, v: float) -> None:
    """A key added the way a user adds one: a double click on the curve canvas."""
    win.curves.set_channel(channel)
    c = win.curves.canvas
    pos = QPoint(int(round(win.view.x_of(1.2))), int(round(c.y_of(v))))
    qtbot.mouseDClick(c, Qt.MouseButton.LeftButton, pos=pos)


def _set_key(win, channel: str, v: float) -> None:
    """Replace the channel's keys by one key (the editor's own command, one undo step)."""
    win.curves.set_channel(channel)
    win.curves.select_all()
    win.curves.delete_selected()
    win.curves.add_key(1.2, v)


def test_valence_and_arousal_keys_change_the_preview(loaded, qtbot):
    win = loaded
    win.transport.seek(1.2)
    qtbot.waitUntil(lambda: win.preview.index == win.transport.frame(), timeout=20000)
    plain = _array(win.preview.image)
    happy = _frame_after(win, qtbot, lambda: _click_key(win, qtbot, "valence", 0.95))
    assert win.session.project.curves["channels"]["valence"]["keys"][0]["v"] > 0.8
    # measured before the learned expressions: 0.4 grey levels per pixel for valence +1 vs -1
    assert np.abs(happy.astype(int) - plain).mean() > 1.0   # measured 2.05 (the sample already grins)
    sad = _frame_after(win, qtbot, lambda: _set_key(win, "valence", -0.95))
    assert [k["v"] for k in win.session.project.curves["channels"]["valence"]["keys"]] == [-0.95]
    assert np.abs(sad.astype(int) - happy).mean() > 2.5     # measured 4.28
    aroused = _frame_after(win, qtbot, lambda: _set_key(win, "arousal", 0.95))
    assert np.abs(aroused.astype(int) - sad).mean() > 0.5   # measured 0.85
