"""A new narration, and what happens to the edits timed to the old one.

Choosing, dropping or recording a narration first reads it on a worker (a
file that is not audio is refused with core's message and the project keeps
its narration), then looks at what the project has that was timed to the
old narration (core.edits.timed_edits). Without such edits the narration is
simply replaced (a script is kept: it is aligned to the new narration, and
when it does not match, the media panel says so and offers the recognised
words). With them the studio asks, without blocking:

- **Stretch to fit**: scenes, curve keys and mouth keys are scaled to the
  new length; the script stays (a re-recording of the same text is aligned
  again; a script that does not match is set aside by the analysis, which
  then recognises the words);
- **Clear them**: no scenes, curve keys, mouth keys or script (start over);
- **Cancel**: the narration stays as it was.

Either way the word timings go back to the new narration's analysis (they
cannot be stretched: the words are somewhere else now), and the whole
change is one undo step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from core.edits import cleared, stretched, timed_edits

from app.errors import show_error
from app.workers import Task, while_alive


def probe_narration(path: str, *, progress, cancel) -> float:
    """Decode the file (as the analysis will) and return its length in seconds."""
    from core.io.audio import load_audio

    progress("narration", 0, 1)
    return float(load_audio(path).duration)


class NarrationChanger(QObject):
    """Replaces the project's narration as a user would expect (see the module doc)."""

    changed = Signal(str)       # what was done, for the status bar

    STRETCH, CLEAR = "stretch", "clear"

    def __init__(self, session, runner, parent_widget):
        super().__init__(parent_widget)
        self.session, self.runner, self.parent_widget = session, runner, parent_widget
        self.checking: Task | None = None
        self.box: QMessageBox | None = None      # the open question, if any

    def request(self, path: str) -> Task:
        task = Task(probe_narration, str(path), name="narration")
        self.checking = task
        task.signals.done.connect(while_alive(self, lambda d, p=str(path): self.checked(p, d)))
        task.signals.failed.connect(while_alive(self, lambda e: show_error(self.parent_widget.window(), e,
                                                                           "Narration")))
        task.signals.finished.connect(while_alive(self, lambda t=task: self._finished(t)))
        self.runner.start(task)
        return task

    def _finished(self, task: Task) -> None:
        if self.checking is task:
            self.checking = None

    def old_duration(self) -> float | None:
        an = self.session.analysis
        return float(an.tracks.duration) if an is not None else None

    def checked(self, path: str, duration: float) -> QMessageBox | None:
        """The new file is audio of ``duration`` s: replace, or ask first when edits would be lost."""
        p = self.session.project
        edits = timed_edits(p)
        if not edits.timed:
            self.apply(path, duration, self.STRETCH)
            return None
        old = self.old_duration()
        old_name = Path(p.narration).name if p.narration else "the old narration"
        length = f" ({old:.1f} s)" if old else ""
        items = "".join(f"<li>{line}</li>" for line in edits.lines())
        text = (f"<p>The new narration <b>{Path(path).name}</b> ({duration:.1f} s) replaces "
                f"{old_name}{length}. These edits were made for the old one:</p><ul>{items}</ul>"
                "<p><b>Stretch to fit</b> scales scenes, curve keys and mouth keys to the new length and "
                "keeps the script (if it does not match the new narration, its words are recognised from "
                "the audio instead).<br><b>Clear them</b> starts over (the script too).<br>Word timings always "
                "come from the new narration. Undo brings everything back.</p>")
        box = QMessageBox(QMessageBox.Icon.Question, "New narration", text,
                          QMessageBox.StandardButton.Cancel, self.parent_widget.window())
        box.setObjectName("narrationQuestion")
        stretch = box.addButton("Stretch to fit", QMessageBox.ButtonRole.AcceptRole)
        stretch.setObjectName("stretch")
        clear = box.addButton("Clear them", QMessageBox.ButtonRole.DestructiveRole)
        clear.setObjectName("clear")
        box.setDefaultButton(stretch)

        def answered(_r, b=box):
            self.box = None
            c = b.clickedButton()
            if c is stretch:
                self.apply(path, duration, self.STRETCH)
            elif c is clear:
                self.apply(path, duration, self.CLEAR)
            else:
                self.changed.emit("Narration not changed.")

        box.finished.connect(answered)
        self.box = box
        box.open()
        return box

    def apply(self, path: str, duration: float, how: str) -> None:
        p = self.session.project
        old = self.old_duration() or duration
        edits = timed_edits(p)
        changes = cleared(p) if how == self.CLEAR else stretched(p, old, duration)
        changes["narration"] = str(path)
        if how == self.CLEAR and edits.any:
            what = " (edits for the old narration cleared)"
        elif (edits.scenes or edits.curve_keys or edits.mouth_keys) and abs(duration - old) > 1e-3:
            what = f" (scenes and keys stretched x{duration / old:.2f})"
        else:
            what = ""
        self.session.edit_many(changes, "Set narration")
        self.changed.emit(f"Narration: {Path(path).name}{what}")
