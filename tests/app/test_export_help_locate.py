"""Issue 18 items 8-10: export (default folder, overwrite question, open / show, remove, File menu),
Help (getting started, shortcuts, About with licences) and Locate... for media that moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


def _small(win):
    ex = win.export
    ex.size.setValue(128)
    ex.max_output.setValue(128)
    ex.fps.setValue(10)


def _finished(job) -> bool:
    return job.status in ("done", "failed", "cancelled")


# -- export ---------------------------------------------------------------------------------

def test_default_output_is_the_videos_folder_then_beside_the_project(loaded, qtbot, tmp_path, monkeypatch):
    import app.export_panel as ep

    ex = loaded.export
    out = Path(ex.output.text())
    assert out.parent == ep.videos_dir() and out.name == "clip.mp4"     # never <cwd>/out for an unsaved project
    assert out.parent != Path.cwd() / "out"
    monkeypatch.setattr(ep, "videos_dir", lambda: tmp_path / "Videos")
    ex.sync()
    assert Path(ex.output.text()) == tmp_path / "Videos" / "clip.mp4"
    assert loaded.session.project.export.output == ""                   # the default is not stored
    loaded.session.save(tmp_path / "proj" / "talk.srproj")
    assert Path(ex.output.text()) == tmp_path / "proj" / "talk.mp4"


def test_export_asks_before_replacing_a_file_then_opens_it(loaded, qtbot, tmp_path, monkeypatch):
    import app.export_panel as ep

    opened = []
    monkeypatch.setattr(ep, "open_url", lambda url: opened.append(url.toLocalFile()) or True)
    win, ex = loaded, loaded.export
    _small(win)
    target = tmp_path / "mine.mp4"
    target.write_bytes(b"my own video")
    box = ex.enqueue(str(target))
    assert isinstance(box, QMessageBox) and "exists already" in box.text() and ex.jobs == []
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert ex.jobs == [] and target.read_bytes() == b"my own video"
    assert not ex.btn_open.isEnabled() and not ex.btn_show.isEnabled()
    ex.enqueue(str(target)).findChild(QPushButton, "replace").click()
    job = ex.jobs[-1]
    qtbot.waitUntil(lambda: _finished(job), timeout=120000)
    assert job.status == "done", job.detail
    assert target.read_bytes()[4:8] == b"ftyp"                            # an MP4 now
    assert ex.btn_open.isEnabled() and ex.btn_show.isEnabled()
    ex.btn_open.click()
    ex.btn_show.click()
    assert opened == [str(target), str(tmp_path)]


def test_a_queued_job_can_be_removed(loaded, qtbot, tmp_path):
    win, ex = loaded, loaded.export
    _small(win)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    ja = ex.enqueue(str(a))
    jb = ex.enqueue(str(b))
    assert ja.status == "running" and jb.status == "queued"
    ex.queue.setCurrentRow(0)
    assert not ex.btn_remove.isEnabled()                                  # running: Cancel it first
    ex.queue.setCurrentRow(1)
    assert ex.btn_remove.isEnabled()
    ex.btn_remove.click()
    assert ex.jobs == [ja] and ex.queue.count() == 1 and "Removed b.mp4" in ex.eta.text()
    qtbot.waitUntil(lambda: _finished(ja), timeout=120000)
    qtbot.wait(300)
    assert ja.status == "done" and a.exists() and not b.exists()         # the removed job never ran
    ex.queue.setCurrentRow(0)
    ex.btn_remove.click()                                                  # a finished one leaves the list
    assert ex.jobs == [] and a.exists()


def test_export_is_in_the_file_menu(loaded, qtbot, tmp_path, monkeypatch):
    import app.export_panel as ep

    monkeypatch.setattr(ep, "videos_dir", lambda: tmp_path)
    win = loaded
    _small(win)
    win.export.sync()
    file_menu = win.menuBar().actions()[0].menu()
    assert win.export_action in file_menu.actions() and win.export_action.shortcut().toString() == "Ctrl+E"
    win.right_tabs.setCurrentIndex(0)
    win.export_action.trigger()
    assert win.right_tabs.tabText(win.right_tabs.currentIndex()) == "Export"
    job = win.export.jobs[-1]
    assert job.output == str(tmp_path / "clip.mp4")
    qtbot.waitUntil(lambda: _finished(job), timeout=120000)
    assert job.status == "done"


# -- help -----------------------------------------------------------------------------------

def test_help_menu_getting_started_shortcuts_and_about(studio):
    from app.help import version

    titles = [a.text() for a in studio.menuBar().actions()[-1].menu().actions() if a.text()]
    assert titles == ["&Getting started", "&Keyboard and mouse shortcuts", "Where is the &log?",
                      "&About SynchroRaMa Studio"]
    start = studio.show_help("getting started")
    assert start.isVisible() and "Export video" in start.plain() and "mouth" in start.plain()
    keys = studio.show_help("shortcuts").plain()
    for want in ("Play / pause", "Space", "Ctrl+Z", "Ctrl+E", "Export video", "right-click the mouth lane"):
        assert want in keys, want
    about = studio.show_help("about").plain()
    assert version() in about and version()[0].isdigit()
    assert "non-commercial" in about and "Speech-emotion weights" in about
    assert "NRC Emotion Lexicon" in about and "commercial use needs a licence" in about
    assert "MEAD" in about and "Apache-2.0" in about


# -- media that moved -----------------------------------------------------------------------

def test_moved_media_offer_locate_and_the_project_follows(studio, qtbot, tmp_path, clip_audio):
    from core.project import Project

    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SAMPLE / "portrait.png", media / "face.png")
    shutil.copy(clip_audio, media / "voice.wav")
    proj = Project(name="moved", portrait=str(media / "face.png"), narration=str(media / "voice.wav"),
                   script="Hello, and welcome.").save(tmp_path / "elsewhere" / "moved.srproj")
    moved = tmp_path / "moved-media"
    media.rename(moved)
    assert studio.open_project(str(proj))
    qtbot.waitUntil(lambda: isinstance(getattr(studio, "missing_box", None), QMessageBox), timeout=10000)
    box = studio.missing_box
    assert "portrait and the narration" in box.text() and "face.png" in box.text()
    s = studio.session
    assert not s.analysing and not studio.busy.isVisible()                # not stuck on "Analysing..."
    assert "Locate" in studio.preview.note and studio.locate_action.isEnabled()
    box.findChild(QPushButton, "locate").click()
    dlg = studio.locate_file_dialog
    assert isinstance(dlg, QFileDialog) and dlg.isVisible()
    dlg.fileSelected.emit(str(moved / "face.png"))                          # what choosing the file does
    dlg.close()
    assert s.project.portrait == str((moved / "face.png").resolve())
    assert s.project.narration == str((moved / "voice.wav").resolve())     # found beside it
    assert "found the narration there too" in studio.statusBar().currentMessage()
    qtbot.waitUntil(studio.settled, timeout=120000)
    assert not studio.locate_action.isEnabled()
    studio.session.save()
    doc = json.loads(Path(proj).read_text())
    assert doc["media"]["portrait"].endswith("moved-media/face.png")
    s.undo.undo()
    assert s.missing_media() == ["portrait", "narration"]
    for w in QApplication.topLevelWidgets():
        if w.objectName() == "missingMedia" and w.isVisible():
            w.close()
