"""The studio's head-motion and blink-rate controls: edit, preview motion, undo, save."""

from __future__ import annotations

import json

import numpy as np


def _wait_motion(win, qtbot):
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=30000)


def test_head_motion_control_drives_the_motion_and_undoes(loaded, qtbot, tmp_path):
    s, panel = loaded.session, loaded.performance
    _wait_motion(loaded, qtbot)
    assert panel.head_motion.value() == 1.0 and panel.blink_rate.value() == 17.0
    assert s.tracks.motion.head[:, 0].std() > 0.5           # natural: the head moves
    panel.head_motion.setValue(0.0)
    assert s.project.head_motion == 0.0
    _wait_motion(loaded, qtbot)
    assert np.all(s.tracks.motion.head == 0)                 # still
    panel.blink_rate.setValue(0.0)
    _wait_motion(loaded, qtbot)
    assert s.project.blink_rate == 0.0 and s.tracks.motion.unit("eye_blink").max() == 0
    path = s.save(tmp_path / "still.srproj")
    assert json.loads(path.read_text())["motion"] == {"head_motion": 0.0, "blink_rate": 0.0}
    s.undo.undo()
    s.undo.undo()
    assert s.project.head_motion == 1.0 and panel.head_motion.value() == 1.0
    _wait_motion(loaded, qtbot)
    assert s.tracks.motion.head[:, 0].std() > 0.5


def test_opening_a_project_shows_its_motion_settings(loaded, qtbot, tmp_path):
    s = loaded.session
    p = s.project
    p.head_motion, p.blink_rate = 1.6, 22.0
    path = p.save(tmp_path / "lively.srproj")
    assert loaded.open_project(str(path))
    qtbot.waitUntil(loaded.settled, timeout=60000)
    assert loaded.performance.head_motion.value() == 1.6 and loaded.performance.blink_rate.value() == 22.0
