"""The studio end to end on the offscreen platform (pytest-qt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core.tracks import SceneSegment
from tests.conftest import shared

REPO = Path(__file__).resolve().parents[2]


def _curve_point(win, t: float, v: float) -> QPoint:
    c = win.curves.canvas
    return QPoint(int(round(win.view.x_of(t))), int(round(c.y_of(v))))


def _wait_motion(win, qtbot):
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=20000)


def test_sample_project_opens_analysed_with_preview(loaded):
    s = loaded.session
    assert s.analysis.rig.n_faces == 1
    assert abs(s.tracks.duration - 2.5) < 0.05
    from core.pipeline import n_frames_for

    assert s.tracks.motion.n_frames == n_frames_for(s.tracks.duration, 25.0)
    assert loaded.preview.image is not None and loaded.preview.image.width() > 0
    assert s.analysis.pyramid.duration == pytest.approx(2.5, abs=0.01)
    assert loaded.media.face.count() == 1
    assert "clip" in loaded.windowTitle()


def test_curve_edit_through_the_ui_with_undo_redo(loaded, qtbot):
    s, win = loaded.session, loaded
    win.curves.set_channel("valence")
    before = s.tracks.emotion.valence.copy()
    # double-click adds a key at (1.2 s, +0.9)
    qtbot.mouseDClick(win.curves.canvas, Qt.MouseButton.LeftButton, pos=_curve_point(win, 1.2, 0.9))
    keys = s.project.curves["channels"]["valence"]["keys"]
    assert len(keys) == 1 and keys[0]["t"] == pytest.approx(1.2, abs=0.03) and keys[0]["v"] == pytest.approx(0.9, abs=0.05)
    _wait_motion(win, qtbot)
    after = s.tracks.emotion.valence
    assert np.allclose(after, keys[0]["v"], atol=1e-3) and not np.allclose(before, after)
    assert s.analysis.tracks.emotion.valence is not after     # the analysis is kept, not redone
    # drag the key down to -0.5: one more undo step
    start = _curve_point(win, keys[0]["t"], keys[0]["v"])
    qtbot.mousePress(win.curves.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(win.curves.canvas, _curve_point(win, 1.5, 0.2))
    qtbot.mouseMove(win.curves.canvas, _curve_point(win, 1.5, -0.5))
    qtbot.mouseRelease(win.curves.canvas, Qt.MouseButton.LeftButton, pos=_curve_point(win, 1.5, -0.5))
    k = s.project.curves["channels"]["valence"]["keys"][0]
    assert k["v"] == pytest.approx(-0.5, abs=0.05) and k["t"] == pytest.approx(1.5, abs=0.03)
    assert s.undo.count() == 2
    # Bezier through the button on the selected key, then a second key
    qtbot.mouseDClick(win.curves.canvas, Qt.MouseButton.LeftButton, pos=_curve_point(win, 2.2, 0.5))
    win.curves.select_all()
    win.curves.buttons["bezier"].click()
    assert {k["interp"] for k in s.project.curves["channels"]["valence"]["keys"]} == {"bezier"}
    _wait_motion(win, qtbot)
    # undo all four edits with Ctrl+Z, redo with Ctrl+Shift+Z
    for _ in range(4):
        win.undo_action.trigger()
    assert s.project.curves == {}
    _wait_motion(win, qtbot)
    assert np.allclose(s.tracks.emotion.valence, before)
    for _ in range(4):
        win.redo_action.trigger()
    assert len(s.project.curves["channels"]["valence"]["keys"]) == 2
    # delete through the keyboard
    win.curves.canvas.setFocus()
    win.curves.select_all()
    win.curves.delete_selected()
    assert s.project.curves == {}


def test_save_reopen_round_trip_is_identical(loaded, qtbot, tmp_path):
    s = loaded.session
    loaded.curves.set_channel("happy")
    qtbot.mouseDClick(loaded.curves.canvas, Qt.MouseButton.LeftButton, pos=_curve_point(loaded, 1.0, 0.8))
    s.edit("scenes", [SceneSegment(0.2, 1.4, "smiles and nods", "user")], "Add scene")
    assert s.dirty and loaded.windowTitle().startswith("clip*")
    path = s.save(tmp_path / "round.srproj")
    assert not s.dirty
    first = path.read_bytes()
    doc = json.loads(first)
    assert doc["emotion"]["curves"]["channels"]["happy"]["keys"][0]["v"] == pytest.approx(0.8, abs=0.05)
    assert loaded.open_project(str(path))
    qtbot.waitUntil(loaded.settled, timeout=60000)
    assert s.project.scenes[0].text == "smiles and nods"
    assert s.tracks.scenes.segments[0].text == "smiles and nods"
    s.save()
    assert path.read_bytes() == first


def test_timeline_scene_edge_drag_is_undoable(loaded, qtbot):
    s, win = loaded.session, loaded
    s.edit("scenes", [SceneSegment(0.5, 1.5, "nods", "user")], "Add scene")
    canvas = win.timeline.canvas
    y0, h = canvas.lane["scenes"]
    y = y0 + h // 2
    x_end = int(round(win.view.x_of(1.5)))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x_end, y))
    qtbot.mouseMove(canvas, QPoint(int(win.view.x_of(2.0)), y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(win.view.x_of(2.0)), y))
    assert s.project.scenes[0].end == pytest.approx(2.0, abs=0.05)
    win.undo_action.trigger()
    assert s.project.scenes[0].end == 1.5
    # clicking in the waveform moves the playhead (scrub)
    wy = canvas.lane["wave"][0] + 10
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(win.view.x_of(1.0)), wy))
    assert win.transport.position == pytest.approx(1.0, abs=0.05)


def test_keyboard_transport(loaded, qtbot):
    win = loaded
    qtbot.keyClick(win, Qt.Key.Key_Space)
    assert win.transport.playing and win.transport.rate == 1.0
    qtbot.wait(200)
    assert win.transport.position > 0.05
    qtbot.keyClick(win, Qt.Key.Key_K)
    assert not win.transport.playing
    qtbot.keyClick(win, Qt.Key.Key_L)
    qtbot.keyClick(win, Qt.Key.Key_L)
    assert win.transport.rate == 2.0
    qtbot.keyClick(win, Qt.Key.Key_J)
    assert win.transport.rate == -1.0
    qtbot.keyClick(win, Qt.Key.Key_K)
    win.transport.seek(1.0)
    qtbot.keyClick(win, Qt.Key.Key_Right)
    assert win.transport.frame() == 26
    qtbot.waitUntil(lambda: win.preview.index == 26, timeout=5000)


def test_export_finishes_and_the_mp4_is_sound(loaded, qtbot, tmp_path):
    from core.io.video import probe

    ex = loaded.export
    ex.size.setValue(128)
    ex.max_output.setValue(256)
    ex.fps.setValue(20)
    out = tmp_path / "clip.mp4"
    job = ex.enqueue(str(out))
    qtbot.waitUntil(lambda: job.status in ("done", "failed", "cancelled"), timeout=60000)
    assert job.status == "done", job.detail
    info = probe(out)
    assert (info.width, info.height) == (256, 256)
    assert info.has_audio and info.video_codec == "h264"
    assert abs(info.n_frames - 50) <= 1 and info.fps == pytest.approx(20, abs=0.01)
    assert ex.progress.value() == 1000 and "Exported" in ex.eta.text()


def test_cancelled_export_leaves_nothing(loaded, qtbot, tmp_path):
    ex = loaded.export
    ex.size.setValue(512)
    out = tmp_path / "cancelled.mp4"
    job = ex.enqueue(str(out))
    job.task.signals.progress.connect(lambda st, d, t: ex.cancel_current() if st == "render" else None)
    qtbot.waitUntil(lambda: job.status in ("done", "failed", "cancelled"), timeout=60000)
    assert job.status == "cancelled"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert "nothing was written" in ex.eta.text()


def test_no_face_portrait_is_refused_with_a_clear_message(loaded, qtbot):
    from app import errors

    dog = shared("portraits", "lp_s30.jpg")
    before = loaded.session.project.portrait
    loaded.media.load_portrait(str(dog))
    qtbot.waitUntil(lambda: not loaded.media.checking, timeout=30000)
    assert errors.shown and "face" in errors.shown[-1].lower() and str(dog) in errors.shown[-1]
    assert loaded.session.project.portrait == before
    assert loaded.session.analysis is not None          # the project is untouched


def test_corrupt_project_is_a_dialog_not_a_crash(studio, tmp_path):
    from app import errors

    bad = tmp_path / "bad.srproj"
    bad.write_text("{ broken")
    assert not studio.open_project(str(bad))
    assert "invalid JSON" in errors.shown[-1]


def test_autosave_writes_a_recovery_copy(loaded, qtbot):
    from core.project import autosave_path

    s = loaded.session
    s.edit("seed", 7, "Seed")
    path = s.autosave()
    assert path == autosave_path(None, s.session_id) and path.exists()
    assert json.loads(path.read_text())["seed"] == 7
    s.discard_autosave()
    assert not path.exists()


def test_screenshot_command(tmp_path, clip_audio):
    png = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-m", "app.main", "--sample", "--screenshot", str(png), "--size", "900x600"],
                         cwd=REPO, capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    from PIL import Image

    im = Image.open(png)
    assert im.size == (900, 600) or im.size[0] >= 900
    assert np.asarray(im.convert("L")).std() > 20   # not a blank window
