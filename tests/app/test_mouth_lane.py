"""Issue 18: the mouth lane (viseme keys over the automatic lip-sync), saved and rendered by --project.

The menu is opened with a real right-click event on the timeline and its actions are triggered
as a click on them would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication

from core.mouth_keys import automatic_spans
from core.tracks import MouthKey

REPO = Path(__file__).resolve().parents[2]


def _wait_motion(win, qtbot):
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=30000)


def _open_span(win, shapes=("AI", "O")):
    """An automatic mouth span that opens the mouth, at least 0.15 s long."""
    al = win.timeline.canvas.words()
    return next(sp for sp in automatic_spans(al.phones) if sp[2] in shapes and sp[1] - sp[0] >= 0.15)


def _frames(win, span, lead=0.08):
    """Frames whose lips show the middle of ``span`` (the lips lead the sound)."""
    fps = win.session.tracks.fps
    a, b = span[0] + 0.05 - lead, span[1] - 0.05 - lead
    return slice(max(int(np.ceil(a * fps)), 0), int(np.floor(b * fps)) + 1)


def _right_click(win, t: float):
    canvas = win.timeline.canvas
    y0, h = canvas.lane["mouth"]
    pos = QPoint(int(round(win.view.x_of(t))), y0 + h // 2)
    ev = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, canvas.mapToGlobal(pos))
    QApplication.sendEvent(canvas, ev)
    assert canvas.menu is not None and canvas.menu.isVisible()
    return canvas.menu


def _choose(menu, name: str) -> None:
    action = menu.findChild(QAction, name)
    assert action is not None and action.isEnabled(), name
    action.trigger()
    menu.close()


def test_mouth_lane_shape_strength_silence_and_back(loaded, qtbot):
    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    win.view.set(t0=0.0, pps=200.0)
    canvas = win.timeline.canvas
    span = _open_span(win)
    mid = (span[0] + span[1]) / 2
    fr = _frames(win, span)
    m0 = s.tracks.motion
    jaw0, round0, close0 = (m0.unit(u)[fr].copy() for u in ("jaw_open", "lip_round", "lip_close"))
    assert jaw0.mean() > 0.3                                    # an open shape to start from
    assert "automatic" in canvas.describe_at(win.view.x_of(mid), canvas.lane["mouth"][0] + 5)

    # swap the shape: U rounds the lips
    _choose(_right_click(win, mid), "shape:U")
    assert [(k.start, k.end, k.shape, k.strength) for k in s.project.mouth_keys] == [
        (pytest.approx(span[0]), pytest.approx(span[1]), "U", 1.0)]
    _wait_motion(win, qtbot)
    m = s.tracks.motion
    assert m.unit("lip_round")[fr].min() > 0.9 and m.unit("lip_round")[fr].min() > round0.max()
    assert m.unit("jaw_open")[fr].max() < jaw0.mean()
    assert "mouth key: U" in canvas.describe_at(win.view.x_of(mid), canvas.lane["mouth"][0] + 5)

    # stronger: the same key at 150 %
    _choose(_right_click(win, mid), "strength:1.5")
    assert s.project.mouth_keys[0].strength == 1.5 and s.project.mouth_keys[0].shape == "U"
    _wait_motion(win, qtbot)
    assert s.tracks.motion.unit("jaw_open")[fr].mean() > m.unit("jaw_open")[fr].mean()

    # silence: the mouth rests there
    _choose(_right_click(win, mid), "silence")
    assert s.project.mouth_keys[0].shape == "rest"
    _wait_motion(win, qtbot)
    m = s.tracks.motion
    assert m.unit("jaw_open")[fr].max() < 0.02 and m.unit("lip_round")[fr].max() < 0.02
    assert m.unit("lip_close")[fr].min() >= 0.69
    assert s.undo.undoText() == "Silence mouth"

    # back to automatic (menu), then the Delete key does the same after undo
    _choose(_right_click(win, mid), "automatic")
    assert s.project.mouth_keys == []
    _wait_motion(win, qtbot)
    assert np.allclose(s.tracks.motion.unit("jaw_open")[fr], jaw0)
    s.undo.undo()
    assert s.project.mouth_keys[0].shape == "rest"
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert s.project.mouth_keys == []
    for _ in range(4):
        s.undo.undo()
    assert s.project.mouth_keys == []
    _wait_motion(win, qtbot)
    assert np.allclose(s.tracks.motion.unit("lip_close")[fr], close0)


def test_auto_shape_strength_scales_the_automatic_mouth(loaded, qtbot):
    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    win.view.set(t0=0.0, pps=200.0)
    span = _open_span(win)
    fr = _frames(win, span)
    jaw0 = s.tracks.motion.unit("jaw_open")[fr].copy()
    _choose(_right_click(win, (span[0] + span[1]) / 2), "strength:0.5")
    k = s.project.mouth_keys[0]
    assert (k.shape, k.strength) == ("auto", 0.5)
    _wait_motion(win, qtbot)
    assert np.allclose(s.tracks.motion.unit("jaw_open")[fr], jaw0 * 0.5, atol=1e-4)


def test_mouth_key_edges_drag_and_the_keys_are_saved(loaded, qtbot, tmp_path):
    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    win.view.set(t0=0.0, pps=200.0)
    canvas = win.timeline.canvas
    s.edit("mouth_keys", [MouthKey(0.5, 0.8, "O", 1.0)], "Mouth O")
    y = canvas.lane["mouth"][0] + 10
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(round(win.view.x_of(0.8))), y))
    qtbot.mouseMove(canvas, QPoint(int(round(win.view.x_of(1.0))), y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(round(win.view.x_of(1.0))), y))
    assert s.project.mouth_keys[0].end == pytest.approx(1.0, abs=0.01)
    assert s.undo.undoText() == "Move mouth key edge"
    # the key is drawn in its own colour (not filled with the waveform's brush)
    img = canvas.grab().toImage()
    c = img.pixelColor(int(win.view.x_of(0.97)), canvas.lane["mouth"][0] + canvas.lane["mouth"][1] // 2)
    assert (c.red(), c.green(), c.blue()) == (150, 70, 120)
    path = s.save(tmp_path / "mouth.srproj")
    doc = json.loads(path.read_text())
    assert doc["mouth"]["keys"][0]["shape"] == "O" and doc["mouth"]["keys"][0]["end"] == pytest.approx(1.0, abs=0.01)
    assert loaded.open_project(str(path))
    qtbot.waitUntil(loaded.settled, timeout=60000)
    assert s.project.mouth_keys[0].shape == "O"
    # a damaged key names itself
    from core.errors import UserInputError
    from core.project import project_from_text

    doc["mouth"]["keys"][0]["shape"] = "X"
    with pytest.raises(UserInputError, match="mouth key 1"):
        project_from_text(json.dumps(doc), path)


def test_render_project_honours_the_mouth_keys(loaded, qtbot, tmp_path):
    """`synchrorama render --project` silences the mouth where the studio's key says, nowhere else."""
    from core.io.video import iter_frames

    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    span = _open_span(win)
    ex = win.export
    ex.size.setValue(128)
    ex.max_output.setValue(160)
    ex.fps.setValue(20)
    from dataclasses import replace

    s.edit("export", replace(s.project.export, crf=0), "Lossless")     # frames compare exactly outside the key
    plain = s.save(tmp_path / "plain.srproj")
    s.edit("mouth_keys", [MouthKey(span[0], span[1], "rest", 1.0)], "Silence mouth")
    keyed = s.save(tmp_path / "keyed.srproj")
    outs = []
    for proj in (plain, keyed):
        res = subprocess.run([sys.executable, "-m", "core.cli", "render", "--project", str(proj), "--json"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        outs.append([f.astype(int) for f in iter_frames(Path(json.loads(res.stdout.strip().splitlines()[-1])["output"]))])
    a, b = outs
    assert len(a) == len(b) == 50
    diff = np.array([np.abs(x - y).max() for x, y in zip(a, b)])
    fps = 20.0
    inside = range(int(np.ceil((span[0] + 0.02) * fps)), int((span[1] - 0.1) * fps) + 1)
    assert all(diff[i] > 20 for i in inside), diff
    far = [i for i in range(50) if (i + 0.5) / fps + 0.08 < span[0] - 0.1 or (i + 0.5) / fps + 0.08 > span[1] + 0.1]
    assert far and all(diff[i] == 0 for i in far), diff
