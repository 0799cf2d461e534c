"""Issue 18 item 6: scene suggestions never overwrite the user's text unasked, Split, window wording."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from core.tracks import SceneSegment


def _rules(win):
    win.settings.llm_kind = "rules"


def _wait_idle(panel, qtbot):
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)


def test_suggest_all_asks_and_keeps_the_users_segments(loaded, qtbot):
    win, s, panel = loaded, loaded.session, loaded.scenes
    _rules(win)
    mine = SceneSegment(0.8, 1.6, "winks at the viewer", "user")
    s.edit("scenes", [mine], "Add scene")
    box = panel.suggest_all()
    assert isinstance(box, QMessageBox) and box.isVisible() and "1 segment(s) hold text you wrote" in box.text()
    assert panel.task is None and s.project.scenes == [mine]          # nothing runs before the answer
    box.findChild(QPushButton, "keep").click()
    _wait_idle(panel, qtbot)
    segs = s.project.scenes
    assert mine in segs and len(segs) > 1
    others = [x for x in segs if x != mine]
    assert all(x.source != "user" for x in others)
    assert all(x.end <= mine.start + 1e-6 or x.start >= mine.end - 1e-6 for x in others)   # none over mine
    assert "1 of yours kept" in panel.note.text()
    # Replace all: the writer's lines everywhere (undo brings mine back)
    s.undo.undo()
    panel.suggest_all().findChild(QPushButton, "replace").click()
    _wait_idle(panel, qtbot)
    assert mine not in s.project.scenes and all(x.source != "user" for x in s.project.scenes)
    s.undo.undo()
    # Cancel: nothing happens
    panel.suggest_all().button(QMessageBox.StandardButton.Cancel).click()
    assert panel.task is None and s.project.scenes == [mine]


def test_suggest_on_the_users_own_text_asks_first(loaded, qtbot):
    win, s, panel = loaded, loaded.session, loaded.scenes
    _rules(win)
    s.edit("scenes", [SceneSegment(0.2, 1.5, "raises an eyebrow", "user")], "Add scene")
    panel.select_row(0)
    box = panel.suggest_selected()
    assert isinstance(box, QMessageBox) and "raises an eyebrow" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert panel.task is None and s.project.scenes[0].text == "raises an eyebrow"
    panel.suggest_selected().button(QMessageBox.StandardButton.Yes).click()
    _wait_idle(panel, qtbot)
    seg = s.project.scenes[0]
    assert seg.source != "user" and seg.text != "raises an eyebrow" and (seg.start, seg.end) == (0.2, 1.5)
    # a writer's line is replaced without a question
    panel.select_row(0)
    task = panel.suggest_selected()
    assert not isinstance(task, QMessageBox)
    _wait_idle(panel, qtbot)


def test_split_at_the_playhead_and_add_points_to_it(loaded, qtbot):
    win, s, panel = loaded, loaded.session, loaded.scenes
    s.edit("scenes", [SceneSegment(0.0, 2.5, "smiles", "user")], "Add scene")
    win.transport.seek(1.0)
    panel.btn_add.click()
    assert "Split" in panel.note.text() and len(s.project.scenes) == 1
    assert panel.btn_split.isEnabled()
    panel.btn_split.click()
    segs = s.project.scenes
    assert [(x.start, x.end, x.text) for x in segs] == [(0.0, 1.0, "smiles"), (1.0, 2.5, "smiles")]
    assert s.undo.undoText() == "Split scene" and panel.current_row() == 1
    win.transport.seek(0.05)                      # too close to an edge
    panel.select_row(-1)
    assert not panel.btn_split.isEnabled()
    s.undo.undo()
    assert len(s.project.scenes) == 1


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_writer_messages_name_the_settings_not_command_line_flags(loaded, qtbot):
    from app import errors

    win, s, panel = loaded, loaded.session, loaded.scenes
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    win.settings.llm_kind, win.settings.llm_url = "auto", url
    panel.suggest_all()
    _wait_idle(panel, qtbot)
    notes = [panel.notes.item(i).text() for i in range(panel.notes.count())]
    assert any("no LLM server answered" in n for n in notes), notes
    assert not any("--" in n for n in notes), notes
    assert any("Tools > Settings" in n for n in notes), notes
    # the explicit server writer fails with a dialog in the same words
    win.settings.llm_kind = "openai"
    assert not any(x.source == "user" for x in s.project.scenes)     # so no question first
    panel.suggest_all()
    _wait_idle(panel, qtbot)
    assert errors.shown and "no LLM server answered" in errors.shown[-1]
    assert "--" not in errors.shown[-1] and "Tools > Settings" in errors.shown[-1]


def test_suggestion_notes_go_when_the_segments_are_edited(loaded, qtbot):
    win, s, panel = loaded, loaded.session, loaded.scenes
    win.settings.llm_kind, win.settings.llm_url = "auto", f"http://127.0.0.1:{_closed_port()}/v1"
    panel.suggest_all()
    _wait_idle(panel, qtbot)
    assert panel.notes.count() > 0 and panel.suggest_notes
    segs = list(s.project.scenes)
    segs[0] = SceneSegment(segs[0].start, segs[0].end, "nods", "user")
    s.edit("scenes", segs, "Edit scene")
    assert panel.suggest_notes == [] and panel.note.text() == ""
    assert all("LLM" not in panel.notes.item(i).text() for i in range(panel.notes.count()))


@pytest.mark.parametrize("text,want", [
    ("pass its address with --url, or use --backend rules.", "Tools > Settings > Endpoint"),
    ("lists no model; pass --model NAME.", "Tools > Settings > Model"),
])
def test_for_window_rewrites_every_flag(text, want):
    from app.scene_panel import for_window

    out = for_window(text)
    assert want in out and "--" not in out
