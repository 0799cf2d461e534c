"""Scene segments as a table in sync with the timeline; suggestions in the background.

Editing a cell, adding or removing a row are undoable ``scenes`` edits.
"Suggest" asks the configured backend (Settings: LLM endpoint, or the
built-in rules writer) for the selected segment, "Suggest all" for a fresh
set over the whole narration; both run on a worker thread and can be
cancelled.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from core.tracks import SceneSegment

from app.errors import show_error
from app.workers import Task, while_alive


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
        row.addWidget(self.btn_del, 0, 1)
        row.addWidget(self.btn_one, 1, 0)
        row.addWidget(self.btn_all, 1, 1)
        row.addWidget(self.btn_cancel, 1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.note)
        lay.addWidget(self.notes)
        session.changed.connect(lambda k: self.refresh() if k == "scenes" else None)
        session.project_loaded.connect(self.refresh)
        session.analysis_ready.connect(self._enable)
        session.analysis_cleared.connect(self._enable)
        session.motion_ready.connect(self._show_notes)
        session.project_loaded.connect(self._forget_notes)
        timeline.canvas.scene_selected.connect(self.select_row)
        self.refresh()

    def _enable(self) -> None:
        ready = self.session.analysis is not None and self.task is None
        for b in (self.btn_add, self.btn_all):
            b.setEnabled(ready)
        sel = self.current_row() >= 0
        self.btn_one.setEnabled(ready and sel)
        self.btn_del.setEnabled(sel and self.task is None)
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

    def _forget_notes(self) -> None:
        self.suggest_notes = []
        self.note.setText("")
        self._show_notes()

    def _show_notes(self) -> None:
        self.notes.clear()
        for w in self.cue_warnings():
            self.notes.addItem(f"Not shown: {w}")
        for n in self.suggest_notes:
            self.notes.addItem(n)
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
            self.note.setText("The playhead is inside a segment: move it to a free stretch first.")
            return
        nxt = min([s.start for s in segs if s.start > t] + [dur, t + 2.0])
        if nxt - t < 0.1:
            self.note.setText("No room for a segment here.")
            return
        segs.append(SceneSegment(round(t, 2), round(nxt, 2), "looks at the camera", "user"))
        segs.sort(key=lambda s: s.start)
        self.session.edit("scenes", segs, "Add scene")
        self.select_row([s.start for s in segs].index(round(t, 2)))

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
                                                                 show_error(self.window(), e, "Scene suggestions"))))
        task.signals.cancelled.connect(while_alive(self, lambda: self.note.setText(
            "Suggestions cancelled: the segments are unchanged.")))

        def fin():
            self.task = None
            self.btn_cancel.setVisible(False)
            self._enable()

        task.signals.finished.connect(while_alive(self, fin))
        self._enable()
        self.runner.start(task)

    def suggest_all(self) -> Task | None:
        """Fresh segments over the whole narration from the configured writer, with its notes."""
        if self.session.analysis is None or self.task is not None:
            return None
        script, align, emo, dur = self._context()

        def done(report):
            self.session.edit("scenes", list(report.segments), "Suggest scenes")
            llm = sum(s.source == "llm" for s in report.segments)
            self.note.setText(f"{len(report.segments)} segments from the {report.backend} writer"
                              f" ({llm} from the LLM, {len(report.segments) - llm} from rules)"
                              + (f"; {len(report.notes)} note(s) below." if report.notes else "."))
            self.suggest_notes = list(report.notes)
            self._show_notes()

        task = Task(suggest_all_job, script, align, emo, dur, self.settings.backend_config(), name="suggest")
        self._run(task, done)
        return task

    def suggest_selected(self) -> Task | None:
        """A fresh line for the selected segment; its times stay as they are."""
        i = self.current_row()
        if i < 0 or self.session.analysis is None or self.task is not None:
            return None
        s = self.session.project.scenes[i]
        script, align, emo, dur = self._context()
        config = self.settings.backend_config()

        def done(seg, i=i, start=s.start, end=s.end):
            segs = copy.deepcopy(self.session.project.scenes)
            # the segment may have been removed or moved while the writer ran
            if i < len(segs) and (segs[i].start, segs[i].end) == (start, end):
                segs[i].text, segs[i].source = seg.text, seg.source
                self.session.edit("scenes", segs, "Suggest scene")
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
