"""Scene segments as a table in sync with the timeline; suggestions in the background.

Editing a cell, adding or removing a row are undoable ``scenes`` edits.
"Suggest" asks the configured backend (Settings: LLM endpoint, or the
built-in rules writer) for the selected segment, "Suggest all" for a fresh
set over the whole narration; both run on a worker thread and can be
cancelled. Neither overwrites the user's own text without asking: Suggest
all offers to keep the user's segments (suggestions fill the rest), Suggest
on a segment the user wrote asks first. "Split" cuts the selected segment
at the playhead. The writer's notes and errors name the Settings dialog,
never command-line flags, and notes about an older suggestion go away when
the segments are edited.
"""

from __future__ import annotations

import copy
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QGridLayout, QHeaderView, QLabel, QListWidget, QMessageBox, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from core.edits import keep_user_segments, split_segment
from core.errors import UserInputError
from core.tracks import SceneSegment

from app.errors import show_error
from app.workers import Task, while_alive


# the scene writer's messages are shared with the CLI; in the window its flags are the Settings dialog
_FLAG_WORDS = (
    (r"pass (its|the server's own) address with --url", r"set \1 address in Tools > Settings > Endpoint"),
    (r"[Oo]r use --backend rules", "or choose the rules writer in Tools > Settings > Writer"),
    (r"pass --model NAME", "set a model name in Tools > Settings > Model"),
    (r"--url", "Tools > Settings > Endpoint"),
    (r"--backend (\w+)", r"Tools > Settings > Writer (\1)"),
    (r"--model", "Tools > Settings > Model"),
)


def for_window(text: str) -> str:
    """A scene-writer message with its command-line flags put as the Settings dialog's fields."""
    for pat, repl in _FLAG_WORDS:
        text = re.sub(pat, repl, text)
    return text


def _windowed(exc: BaseException) -> BaseException:
    if isinstance(exc, UserInputError):
        return UserInputError(for_window(exc.detail), exc.path, for_window(exc.fix or ""))
    return exc


def suggest_all_job(script, alignment, emotion, duration, config, *, progress, cancel):
    from core.scene.suggest import suggest_report

    return suggest_report(script, alignment, emotion, duration, config, progress=progress, cancel=cancel)


def suggest_one_job(start, end, script, alignment, emotion, config, duration, *, progress, cancel):
    from core.scene.suggest import suggest_for_segment

    progress("scenes", 0, 1)
    return suggest_for_segment(start, end, script, alignment, emotion, config, duration=duration, cancel=cancel)


class ScenePanel(QWidget):
    def __init__(self, session, runner, settings, timeline, transport, parent=None):
        super().__init__(parent)
        self.session, self.runner, self.settings = session, runner, settings
        self.timeline, self.transport = timeline, transport
        self.task: Task | None = None
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Start", "End", "Description", "From"])
        hdr = self.table.horizontalHeader()
        for col in (0, 1, 3):
            hdr.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._cell_edited)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.btn_add = QPushButton("Add")
        self.btn_add.setToolTip("New segment at the playhead (2 s, or up to the next segment)")
        self.btn_add.clicked.connect(self.add_at_playhead)
        self.btn_del = QPushButton("Remove")
        self.btn_del.clicked.connect(self.remove_selected)
        self.btn_one = QPushButton("Suggest")
        self.btn_one.setToolTip("Ask the scene writer (Settings > LLM) for the selected segment")
        self.btn_one.clicked.connect(self.suggest_selected)
        self.btn_all = QPushButton("Suggest all")
        self.btn_all.setToolTip("Replace every segment with suggestions, one per sentence")
        self.btn_all.clicked.connect(self.suggest_all)
        self.btn_split = QPushButton("Split")
        self.btn_split.setToolTip("Cut the selected segment in two at the playhead")
        self.btn_split.clicked.connect(self.split_at_playhead)
        self.question: QMessageBox | None = None     # an open "overwrite your text?" question
        self._suggesting = False                     # the scenes edit being made is a suggestion's
        self.btn_cancel = QPushButton("Cancel")
        self.btn_cancel.setToolTip("Stop the scene writer; the segments stay as they were")
        self.btn_cancel.setVisible(False)
        self.btn_cancel.clicked.connect(lambda: self.task and self.task.cancel())
        self.note = QLabel("")
        self.note.setWordWrap(True)
        # what the writer reported (rejected lines, fallbacks) and what the face cannot show
        self.notes = QListWidget()
        self.notes.setObjectName("sceneNotes")
        self.notes.setWordWrap(True)
        self.notes.setMaximumHeight(120)
        self.notes.setVisible(False)
        self.suggest_notes: list[str] = []
        # two rows of buttons, so the panel fits a narrow right dock (a 1024-wide window)
        row = QGridLayout()
        row.addWidget(self.btn_add, 0, 0)
        row.addWidget(self.btn_split, 0, 1)
        row.addWidget(self.btn_del, 0, 2)
        row.addWidget(self.btn_one, 1, 0)
        row.addWidget(self.btn_all, 1, 1)
        row.addWidget(self.btn_cancel, 1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.note)
        lay.addWidget(self.notes)
        session.changed.connect(lambda k: self._scenes_changed() if k == "scenes" else None)
        session.project_loaded.connect(self.refresh)
        session.analysis_ready.connect(self._enable)
        session.analysis_cleared.connect(self._enable)
        session.motion_ready.connect(self._show_notes)
        session.project_loaded.connect(self._forget_notes)
        timeline.canvas.scene_selected.connect(self.select_row)
        transport.position_changed.connect(
            lambda _t: self.btn_split.setEnabled(self.task is None and self._split_target() >= 0))
        self.refresh()

    def _enable(self) -> None:
        ready = self.session.analysis is not None and self.task is None
        for b in (self.btn_add, self.btn_all):
            b.setEnabled(ready)
        sel = self.current_row() >= 0
        self.btn_one.setEnabled(ready and sel)
        self.btn_del.setEnabled(sel and self.task is None)
        self.btn_split.setEnabled(self.task is None and self._split_target() >= 0)
        if self.session.analysis is None:
            why = "Available once the narration is analysed"
        elif self.task is not None:
            why = "The scene writer is running (Cancel stops it)"
        else:
            why = ""
        self.btn_all.setToolTip(why or "Replace every segment with suggestions, one per sentence")
        self.btn_add.setToolTip(why or "New segment at the playhead (2 s, or up to the next segment)")
        self.btn_one.setToolTip(why or ("Ask the scene writer (Settings > LLM) for the selected segment" if sel
                                        else "Select a segment first"))
        self.btn_del.setToolTip("Remove the selected segment" if sel else "Select a segment first")

    def cue_warnings(self) -> list[str]:
        """Render warnings about scene text the face cannot show (from core.scene.cues)."""
        return [w for w in self.session.warnings if "could not map" in w]

    def _scenes_changed(self) -> None:
        """Notes about a suggestion are stale once the segments are edited by hand (or undone)."""
        if not self._suggesting and self.suggest_notes:
            self.suggest_notes = []
            self.note.setText("")
            self._show_notes()
        self.refresh()

    def _edit(self, segs, text: str, suggestion: bool = False) -> None:
        self._suggesting = suggestion
        try:
            self.session.edit("scenes", segs, text)
        finally:
            self._suggesting = False

    def _forget_notes(self) -> None:
        self.suggest_notes = []
        self.note.setText("")
        self._show_notes()

    def _show_notes(self) -> None:
        self.notes.clear()
        for w in self.cue_warnings():
            self.notes.addItem(f"Not shown: {w}")
        for n in self.suggest_notes:
            self.notes.addItem(for_window(n))
        self.notes.setVisible(self.notes.count() > 0)

    def refresh(self) -> None:
        self.table.blockSignals(True)
        segs = self.session.project.scenes
        self.table.setRowCount(len(segs))
        for i, s in enumerate(segs):
            for j, val in enumerate((f"{s.start:.2f}", f"{s.end:.2f}", s.text, s.source)):
                it = QTableWidgetItem(val)
                if j == 3:
                    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(i, j, it)
        self.table.blockSignals(False)
        self._enable()

    def current_row(self) -> int:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].row() if rows else -1

    def select_row(self, i: int) -> None:
        if 0 <= i < self.table.rowCount():
            self.table.selectRow(i)
        else:
            self.table.clearSelection()

    def _row_selected(self) -> None:
        i = self.current_row()
        self.timeline.canvas.selected_scene = i
        self.timeline.canvas.update()
        if 0 <= i < len(self.session.project.scenes):
            self.transport.seek(self.session.project.scenes[i].start)
        self._enable()

    def _cell_edited(self, item: QTableWidgetItem) -> None:
        segs = copy.deepcopy(self.session.project.scenes)
        i, j = item.row(), item.column()
        s = segs[i]
        try:
            if j == 0:
                s.start = float(item.text())
            elif j == 1:
                s.end = float(item.text())
            elif j == 2:
                s.text = item.text().strip()
                s.source = "user"
        except ValueError:
            self.note.setText(f"'{item.text()}' is not a number of seconds.")
            self.refresh()
            return
        self.session.edit("scenes", segs, "Edit scene")

    def add_at_playhead(self) -> None:
        dur = self.session.analysis.tracks.duration if self.session.analysis else 0.0
        t = self.transport.position
        segs = copy.deepcopy(self.session.project.scenes)
        if any(s.start <= t < s.end for s in segs):
            self.note.setText("The playhead is inside a segment: Split cuts it in two there, or move the "
                              "playhead to a free stretch.")
            return
        nxt = min([s.start for s in segs if s.start > t] + [dur, t + 2.0])
        if nxt - t < 0.1:
            self.note.setText("No room for a segment here.")
            return
        segs.append(SceneSegment(round(t, 2), round(nxt, 2), "looks at the camera", "user"))
        segs.sort(key=lambda s: s.start)
        self.session.edit("scenes", segs, "Add scene")
        self.select_row([s.start for s in segs].index(round(t, 2)))

    def _split_target(self) -> int:
        """The segment Split would cut: the selected one, else the one under the playhead (-1: none)."""
        segs = self.session.project.scenes
        t = self.transport.position
        i = self.current_row()
        if not 0 <= i < len(segs):
            i = next((j for j, s in enumerate(segs) if s.start <= t < s.end), -1)
        return i if i >= 0 and segs[i].start + 0.1 <= t <= segs[i].end - 0.1 else -1

    def split_at_playhead(self) -> bool:
        i = self._split_target()
        if i < 0:
            self.note.setText("Put the playhead inside the segment to split (at least 0.1 s from its edges).")
            return False
        t = self.transport.position
        self._edit(split_segment(self.session.project.scenes, i, t), "Split scene")
        self.note.setText(f"Split at {t:.2f} s.")
        self.select_row(i + 1)
        return True

    def remove_selected(self) -> None:
        i = self.current_row()
        if i >= 0:
            segs = copy.deepcopy(self.session.project.scenes)
            del segs[i]
            self.session.edit("scenes", segs, "Remove scene")

    def _context(self):
        an, tr = self.session.analysis, self.session.tracks
        align = self.session.project.alignment or an.tracks.alignment
        emo = tr.emotion if tr is not None else an.tracks.emotion
        return self.session.project.script or None, align, emo, an.tracks.duration

    def _run(self, task: Task, on_done) -> None:
        self.task = task
        self.btn_cancel.setVisible(True)
        self.note.setText("Writing scene descriptions...")
        task.signals.progress.connect(while_alive(self, lambda _s, d, t: self.note.setText(
            f"Writing scene descriptions... {d:.0f}/{t:.0f}")))
        # a Cancel that arrives while the last line is being written still wins: the result is dropped
        task.signals.done.connect(while_alive(self, lambda r, t=task: self.note.setText(
            "Suggestions cancelled: the segments are unchanged.") if t.token.cancelled else on_done(r)))
        task.signals.failed.connect(while_alive(self, lambda e: (self.note.setText("Suggestions failed."),
                                                                 show_error(self.window(), _windowed(e),
                                                                            "Scene suggestions"))))
        task.signals.cancelled.connect(while_alive(self, lambda: self.note.setText(
            "Suggestions cancelled: the segments are unchanged.")))

        def fin():
            self.task = None
            self.btn_cancel.setVisible(False)
            self._enable()

        task.signals.finished.connect(while_alive(self, fin))
        self._enable()
        self.runner.start(task)

    def suggest_all(self) -> Task | QMessageBox | None:
        """Fresh segments over the whole narration; asks first when segments hold the user's own text."""
        if self.session.analysis is None or self.task is not None:
            return None
        mine = [s for s in self.session.project.scenes if s.source == "user"]
        if not mine:
            return self._suggest_all(keep=False)
        box = QMessageBox(QMessageBox.Icon.Question, "Suggest all",
                          f"{len(mine)} segment(s) hold text you wrote. Keep them and suggest lines only for the "
                          "rest of the narration, or replace every segment?",
                          QMessageBox.StandardButton.Cancel, self.window())
        box.setObjectName("suggestAllQuestion")
        keep = box.addButton("Keep mine", QMessageBox.ButtonRole.AcceptRole)
        keep.setObjectName("keep")
        replace = box.addButton("Replace all", QMessageBox.ButtonRole.DestructiveRole)
        replace.setObjectName("replace")
        box.setDefaultButton(keep)

        def answered(_r, b=box):
            self.question = None
            if b.clickedButton() is keep:
                self._suggest_all(keep=True)
            elif b.clickedButton() is replace:
                self._suggest_all(keep=False)

        box.finished.connect(answered)
        self.question = box
        box.open()
        return box

    def _suggest_all(self, keep: bool) -> Task:
        script, align, emo, dur = self._context()

        def done(report):
            segs = list(report.segments)
            if keep:
                segs = keep_user_segments(self.session.project.scenes, segs)
            self._edit(segs, "Suggest scenes", suggestion=True)
            new = [s for s in segs if s.source != "user"]
            llm = sum(s.source == "llm" for s in new)
            kept = len(segs) - len(new)
            self.note.setText(f"{len(new)} segments from the {report.backend} writer"
                              f" ({llm} from the LLM, {len(new) - llm} from rules)"
                              + (f", {kept} of yours kept" if keep else "")
                              + (f"; {len(report.notes)} note(s) below." if report.notes else "."))
            self.suggest_notes = list(report.notes)
            self._show_notes()

        task = Task(suggest_all_job, script, align, emo, dur, self.settings.backend_config(), name="suggest")
        self._run(task, done)
        return task

    def suggest_selected(self) -> Task | QMessageBox | None:
        """A fresh line for the selected segment (its times stay); asks first over text the user wrote."""
        i = self.current_row()
        if i < 0 or self.session.analysis is None or self.task is not None:
            return None
        s = self.session.project.scenes[i]
        if s.source == "user" and s.text.strip():
            box = QMessageBox(QMessageBox.Icon.Question, "Suggest",
                              f"Replace your text \u201c{s.text}\u201d with a suggestion? (Undo brings it back.)",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window())
            box.setObjectName("suggestOneQuestion")
            box.button(QMessageBox.StandardButton.Yes).setText("Replace")

            def answered(_r, b=box, i=i):
                self.question = None
                if b.standardButton(b.clickedButton()) == QMessageBox.StandardButton.Yes:
                    self._suggest_one(i)

            box.finished.connect(answered)
            self.question = box
            box.open()
            return box
        return self._suggest_one(i)

    def _suggest_one(self, i: int) -> Task | None:
        if i >= len(self.session.project.scenes) or self.task is not None:
            return None
        s = self.session.project.scenes[i]
        script, align, emo, dur = self._context()
        config = self.settings.backend_config()

        def done(seg, i=i, start=s.start, end=s.end):
            segs = copy.deepcopy(self.session.project.scenes)
            # the segment may have been removed or moved while the writer ran
            if i < len(segs) and (segs[i].start, segs[i].end) == (start, end):
                segs[i].text, segs[i].source = seg.text, seg.source
                self._edit(segs, "Suggest scene", suggestion=True)
                self.suggest_notes = []
                if seg.source == "auto" and config.kind != "rules":
                    self.suggest_notes = [f"{start:.1f}-{end:.1f} s: the LLM gave no usable line (or no server "
                                          "answered); the rules writer's line was used. Suggest all lists the "
                                          "reasons."]
                self.note.setText(f"Suggested ({'LLM' if seg.source == 'llm' else 'rules'}): {seg.text}")
                self._show_notes()
            else:
                self.note.setText("The segment changed while the writer ran: suggestion dropped.")

        task = Task(suggest_one_job, s.start, s.end, script, align, emo, config, dur, name="suggest")
        self._run(task, done)
        return task
