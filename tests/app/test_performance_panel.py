"""Issue 18: the Motion & emotion tab, with the global expressiveness knob."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest


def _wait_motion(win, qtbot):
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=30000)


def test_motion_and_emotion_tab_holds_the_clip_wide_settings(loaded):
    win = loaded
    tabs = [win.right_tabs.tabText(i) for i in range(win.right_tabs.count())]
    assert tabs == ["Scenes", "Motion && emotion", "Export"]
    perf = win.performance
    for w in (perf.expressiveness, perf.emotion, perf.emotion_strength, perf.head_motion, perf.blink_rate,
              perf.seed):
        assert w.toolTip()
    assert not hasattr(win.export, "head_motion")          # not duplicated in Export


def test_expressiveness_scales_emotion_and_head_motion(loaded, qtbot, tmp_path):
    win, s, perf = loaded, loaded.session, loaded.performance
    _wait_motion(win, qtbot)
    head1 = s.tracks.motion.head.copy()
    inten1 = s.tracks.emotion.intensity.copy()
    assert np.abs(head1).max() > 0.5 and inten1.max() > 0.05
    perf.expressiveness.setValue(0.0)
    assert s.project.expressiveness == 0.0
    _wait_motion(win, qtbot)
    assert np.all(s.tracks.motion.head == 0)                    # still
    assert float(np.abs(s.tracks.emotion.intensity).max()) == 0.0
    assert s.tracks.motion.unit("jaw_open").max() > 0.3         # the lips still speak
    assert "head motion at 0.00" in perf.effective.text()
    for v in (0.5, 0.6, 1.5):
        perf.expressiveness.setValue(v)
    _wait_motion(win, qtbot)
    assert np.abs(s.tracks.motion.head).max() > np.abs(head1).max()
    path = s.save(tmp_path / "lively.srproj")
    assert json.loads(path.read_text())["motion"]["expressiveness"] == 1.5
    s.undo.undo()                                                # spin-box steps are one undo step
    assert s.project.expressiveness == 1.0 and perf.expressiveness.value() == 1.0
    _wait_motion(win, qtbot)
    assert np.array_equal(s.tracks.motion.head, head1)
    assert loaded.open_project(str(path))
    qtbot.waitUntil(loaded.settled, timeout=60000)
    assert perf.expressiveness.value() == 1.5


def test_expressiveness_is_the_same_as_scaling_strength_and_head_motion(loaded, qtbot):
    """What --project renders: expressiveness 0.5 = emotion strength x0.5 and head motion x0.5."""
    from core.project import apply_project, project_from_text

    s = loaded.session
    an = s.analysis.tracks
    a = copy.deepcopy(s.project)
    a.expressiveness = 0.5
    b = copy.deepcopy(s.project)
    b.emotion_strength, b.head_motion = 0.5, 0.5
    ta, tb = apply_project(a, an, s.analysis.feats), apply_project(b, an, s.analysis.feats)
    assert np.array_equal(ta.motion.weights, tb.motion.weights)
    assert np.array_equal(ta.motion.head, tb.motion.head)
    assert np.array_equal(ta.emotion.intensity, tb.emotion.intensity)
    # a file with an out-of-range knob names it
    from core.errors import UserInputError

    doc = json.loads(a.to_json())
    doc["motion"]["expressiveness"] = 5
    with pytest.raises(UserInputError, match="expressiveness"):
        project_from_text(json.dumps(doc))
