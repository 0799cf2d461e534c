"""Issue 18 item 1: edits stick to the right narration, and word edits move the mouth.

Every test drives the real widgets of the studio on the offscreen platform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from core.tracks import MouthKey, SceneSegment

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


@pytest.fixture(scope="module")
def other_audio(tmp_path_factory) -> Path:
    """4 s from later in the sample narration: another narration, longer than the 2.5 s clip."""
    from core.io.ffmpeg import run_ffmpeg

    out = tmp_path_factory.mktemp("other") / "other.wav"
    run_ffmpeg(["-y", "-ss", "6", "-i", str(SAMPLE / "narration.wav"), "-t", "4", str(out)], check=True)
    return out


def _wait_motion(win, qtbot):
    qtbot.waitUntil(lambda: not win.session.motion_pending, timeout=30000)


def _word_y(canvas) -> int:
    y0, h = canvas.lane["words"]
    return y0 + h // 2


def _jaw(win) -> np.ndarray:
    return win.session.tracks.motion.unit("jaw_open").copy()


def test_word_edge_drag_moves_its_phones_and_the_mouth(loaded, qtbot):
    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    canvas = win.timeline.canvas
    win.view.set(t0=0.0, pps=200.0)
    al = canvas.words()
    w0, w1 = al.words[0], al.words[1]
    assert w1.start - w0.end > 0.1, "the clip's first two words have a pause between them"
    jaw0 = _jaw(win)
    new_end = w0.end + (w1.start - w0.end) * 0.7
    y = _word_y(canvas)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(round(win.view.x_of(w0.end))), y))
    qtbot.mouseMove(canvas, QPoint(int(round(win.view.x_of(new_end))), y))
    # while dragging, the phones already follow the edge
    assert max(p.end for p in canvas.words().phones if p.word == 0) == pytest.approx(new_end, abs=0.01)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(round(win.view.x_of(new_end))), y))
    edited = s.project.alignment
    assert edited is not None and edited.words[0].end == pytest.approx(new_end, abs=0.01)
    ph = [p for p in edited.phones if p.word == 0]
    old_ph = [p for p in al.phones if p.word == 0]
    assert [p.label for p in ph] == [p.label for p in old_ph]
    assert ph[-1].end == pytest.approx(edited.words[0].end, abs=1e-3)       # stretched into the new span
    assert ph[-1].end - ph[0].start > old_ph[-1].end - old_ph[0].start + 0.05
    after = [p for p in edited.phones if p.start >= ph[-1].end - 1e-6][0]
    assert after.label == "SIL" and after.start == pytest.approx(ph[-1].end, abs=1e-3)   # the pause shrank
    _wait_motion(win, qtbot)
    jaw1 = _jaw(win)
    fps = s.tracks.fps
    changed = np.flatnonzero(np.abs(jaw1 - jaw0) > 0.02)
    assert len(changed), "the mouth did not change"
    assert changed.max() / fps < w1.start + 0.1                 # only in the moved word and its pause
    win.undo_action.trigger()
    assert s.project.alignment is None
    _wait_motion(win, qtbot)
    assert np.allclose(_jaw(win), jaw0)


def test_retyped_word_gets_new_phones_and_mouth(loaded, qtbot):
    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    canvas = win.timeline.canvas
    win.view.set(t0=0.0, pps=200.0)
    w0 = canvas.words().words[0]
    jaw0 = _jaw(win)
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton,
                      pos=QPoint(int(win.view.x_of((w0.start + w0.end) / 2)), _word_y(canvas)))
    ed = canvas.word_editor
    assert ed is not None and ed.isVisible() and ed.text() == w0.text
    ed.clear()
    qtbot.keyClicks(ed, "moo")
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: s.project.alignment is not None, timeout=20000)
    al = s.project.alignment
    assert al.words[0].text == "moo"
    assert [p.label for p in al.phones if p.word == 0] == ["M", "UW"]
    assert al.words[0].start == w0.start and al.words[0].end == w0.end
    assert s.undo.undoText().startswith("Retype")
    _wait_motion(win, qtbot)
    m = s.tracks.motion
    fps = s.tracks.fps
    inside = slice(int(w0.start * fps) + 1, int(w0.end * fps) - 1)
    assert m.unit("lip_close")[inside].max() == 1.0            # the M closes the lips
    assert m.unit("lip_round")[inside].max() > 0.5             # the OO rounds them
    assert not np.allclose(_jaw(win), jaw0)
    # Escape leaves a word as it was
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton,
                      pos=QPoint(int(win.view.x_of((w0.start + w0.end) / 2)), _word_y(canvas)))
    qtbot.keyClicks(canvas.word_editor, "xyz")
    qtbot.keyClick(canvas.word_editor, Qt.Key.Key_Escape)
    assert not canvas.word_editor.isVisible() and s.project.alignment.words[0].text == "moo"


def _edited_project(win, qtbot):
    """A scene, a curve key, a mouth key and a moved word: all timed to the 2.5 s clip."""
    from core.speech.edit import move_word_edge

    s = win.session
    _wait_motion(win, qtbot)
    s.edit("scenes", [SceneSegment(0.5, 2.0, "smiles", "user")], "Add scene")
    s.edit("curves", {"kind": "synchrorama-emotion-curves", "version": 1, "channels": {
        "valence": {"mode": "override", "amount": 1.0, "keys": [{"t": 1.0, "v": 0.5, "interp": "linear"}]}}},
        "Key")
    s.edit("mouth_keys", [MouthKey(0.1, 0.3, "O", 1.5)], "Mouth")
    al = s.analysis.tracks.alignment
    s.edit("alignment", move_word_edge(al, 0, "end", al.words[0].end + 0.05, 2.5), "Move word")
    _wait_motion(win, qtbot)


def _question(qtbot, name: str) -> QMessageBox:
    qtbot.waitUntil(lambda: any(w.objectName() == name and w.isVisible() for w in QApplication.topLevelWidgets()),
                    timeout=30000)
    return next(w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible())


def test_new_narration_asks_and_stretches_the_old_edits(loaded, qtbot, other_audio, clip_audio):
    win, s = loaded, loaded.session
    _edited_project(win, qtbot)
    script = s.project.script
    n_undo = s.undo.count()
    win.media.load_narration(str(other_audio))
    box = _question(qtbot, "narrationQuestion")
    assert "scene" in box.text() and "mouth key" in box.text() and "word timings" in box.text()
    assert s.project.narration == str(clip_audio)               # nothing changes before the answer
    box.findChild(type(box.defaultButton()), "stretch").click()
    assert s.project.narration == str(other_audio)
    assert s.undo.count() == n_undo + 1                         # one undo step
    f = 4.0 / 2.5
    assert s.project.alignment is None                          # words come from the new narration
    sc = s.project.scenes[0]
    assert (sc.start, sc.end) == pytest.approx((0.5 * f, 2.0 * f), abs=0.02)
    assert s.project.curves["channels"]["valence"]["keys"][0]["t"] == pytest.approx(1.0 * f, abs=1e-3)
    mk = s.project.mouth_keys[0]
    assert (mk.start, mk.end, mk.shape, mk.strength) == (pytest.approx(0.1 * f), pytest.approx(0.3 * f), "O", 1.5)
    assert s.project.script == script
    qtbot.waitUntil(win.settled, timeout=120000)
    assert s.analysis.tracks.duration == pytest.approx(4.0, abs=0.05)
    assert win.timeline.canvas.words() is s.analysis.tracks.alignment
    win.undo_action.trigger()
    assert s.project.narration == str(clip_audio) and s.project.alignment is not None
    assert s.project.scenes[0].end == 2.0 and s.project.mouth_keys[0].start == 0.1


def test_new_narration_clear_drops_the_old_edits_and_shows_recognised_words(loaded, qtbot, other_audio):
    win, s = loaded, loaded.session
    _edited_project(win, qtbot)
    win.media.load_narration(str(other_audio))
    box = _question(qtbot, "narrationQuestion")
    box.findChild(type(box.defaultButton()), "clear").click()
    p = s.project
    assert (p.scenes, p.mouth_keys, p.alignment, p.script) == ([], [], None, "")
    assert not p.curves.get("channels")
    qtbot.waitUntil(win.settled, timeout=120000)
    al = s.analysis.tracks.alignment
    media = win.media
    if al.source == "asr":
        # no script: the box shows what was recognised, to correct and apply
        assert media.script.toPlainText() == al.script and "recognised" in media.script_title.text()
        assert not media.btn_script.isEnabled()
        media.script.setPlainText(al.script + " extra")
        assert media.btn_script.isEnabled()
    else:
        assert media.script.toPlainText() == ""


def test_a_script_that_does_not_fit_the_new_narration_is_set_aside_with_the_heard_words(loaded, qtbot, other_audio):
    win, s, media = loaded, loaded.session, loaded.media
    _wait_motion(win, qtbot)
    script = s.project.script
    win.media.load_narration(str(other_audio))              # only a script: nothing timed, no question
    qtbot.waitUntil(lambda: s.project.narration == str(other_audio), timeout=30000)
    assert s.project.script == script
    qtbot.waitUntil(win.settled, timeout=120000)
    al = s.analysis.tracks.alignment
    # speech to text ships with the app: 4 s of clear narration must give words
    assert al.source == "asr", al.warnings
    assert media.script_note.isVisible() and "not used" in media.script_note.text()
    assert media.btn_recognised.isVisible()
    media.btn_recognised.click()
    assert media.script.toPlainText() == al.script and media.btn_script.isEnabled()
    media.btn_script.click()
    assert s.project.script == al.script
    qtbot.waitUntil(win.settled, timeout=120000)
    assert s.analysis.tracks.alignment.source == "forced"
    assert not media.script_note.isVisible() and not media.btn_recognised.isVisible()


def test_new_narration_cancel_keeps_everything(loaded, qtbot, other_audio, clip_audio):
    win, s = loaded, loaded.session
    _edited_project(win, qtbot)
    before = s.project.to_json()
    win.media.load_narration(str(other_audio))
    box = _question(qtbot, "narrationQuestion")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert s.project.to_json() == before and s.project.narration == str(clip_audio)


def test_new_narration_without_edits_just_replaces_it(studio, qtbot, clip_audio):
    s = studio.session
    s.new_project(str(SAMPLE / "portrait.png"), "", "", name="bare")
    studio.media.load_narration(str(clip_audio))
    qtbot.waitUntil(lambda: s.project.narration == str(clip_audio), timeout=30000)
    assert s.undo.undoText() == "Set narration"


def test_a_file_that_is_not_audio_is_refused_and_the_narration_stays(loaded, qtbot, clip_audio):
    from app import errors

    win, s = loaded, loaded.session
    bad = SAMPLE / "portrait.png"
    win.media.load_narration(str(bad))
    qtbot.waitUntil(lambda: not win.media.checking, timeout=30000)
    assert s.project.narration == str(clip_audio)
    assert errors.shown and "portrait.png" in errors.shown[-1]


def test_applying_a_new_script_asks_before_dropping_word_edits(loaded, qtbot):
    from core.speech.edit import move_word_edge

    win, s = loaded, loaded.session
    _wait_motion(win, qtbot)
    al = s.analysis.tracks.alignment
    s.edit("alignment", move_word_edge(al, 0, "end", al.words[0].end + 0.05, 2.5), "Move word")
    media = win.media
    media.script.setPlainText("Hello and welcome")
    media.btn_script.click()
    box = _question(qtbot, "scriptQuestion")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert s.project.alignment is not None and s.project.script == "Hello, and welcome."
    media.btn_script.click()
    box = _question(qtbot, "scriptQuestion")
    box.button(QMessageBox.StandardButton.Apply).click()
    assert s.project.alignment is None and s.project.script == "Hello and welcome"
    s.undo.undo()
    assert s.project.alignment is not None and s.project.script == "Hello, and welcome."


QUIT_SCRIPT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from app.errors import install_excepthook, setup_logging
from app.settings import AppSettings
from app.window import MainWindow

setup_logging()
app = QApplication(sys.argv[:1])
win = MainWindow(settings=AppSettings(), ask=True)
install_excepthook(lambda: win)          # as app.main does: the hook keeps the window alive to the end
win.show()
win.session.edit("seed", 5, "Motion seed")

def discard():
    box = app.activeModalWidget()
    if isinstance(box, QMessageBox):
        box.button(QMessageBox.StandardButton.Discard).click()
    else:
        QTimer.singleShot(50, discard)

QTimer.singleShot(100, lambda: next(a for a in win.actions() if a.text() == "&Quit").trigger())
QTimer.singleShot(200, discard)
QTimer.singleShot(3000, app.quit)
app.exec()
print("visible after quit:", win.isVisible())
"""


def test_quit_with_discard_prints_no_error(tmp_path):
    """Ctrl+Q -> Discard used to print 'RuntimeError: ... QUndoStack already deleted' at exit (and log it)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SYNCHRORAMA_HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", QUIT_SCRIPT], cwd=Path(__file__).resolve().parents[2], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "visible after quit: False" in r.stdout
    assert "Traceback" not in r.stderr and "RuntimeError" not in r.stderr, r.stderr
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("studio.log"))
    assert "RuntimeError" not in logs
