"""Media: the portrait (face box + landmarks, face picker), narration, script.

A new portrait is checked on a worker thread (core.face.rig.load_rig) before
it enters the project, so a photo without a usable face is refused with
core's message and the project keeps its old portrait. A new narration is
read on a worker too, and the edits timed to the old one are stretched or
cleared as the user answers (app/narration.py).

When the analysis recognised the words (no script, or one that does not
match the narration), the script box shows the recognised words so they can
be corrected and applied, and a note says why the typed script was not used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
    QSizePolicy, QVBoxLayout, QWidget,
)

from app.errors import show_error
from app.narration import NarrationChanger
from app.preview import to_qimage
from app.workers import Task, while_alive

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)"
AUDIO_FILTER = "Audio (*.wav *.mp3 *.m4a *.flac *.ogg *.mp4 *.mov)"
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
AUDIO_EXT = {".wav", ".mp3", ".m4a", ".flac", ".ogg", ".aac", ".mp4", ".mov", ".mkv"}


def check_portrait(path: str, *, progress, cancel):
    from core.face.rig import load_rig

    progress("face", 0, 1)
    return load_rig(path)


class PortraitView(QWidget):
    """The portrait with every detected face boxed and the chosen one's landmarks."""

    face_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.rig = None
        self.note = "No portrait yet: drop a photo here or use Portrait..."
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rig(self, rig) -> None:
        self.rig = rig
        self.image = to_qimage(rig.image) if rig is not None else None
        self.update()

    def set_note(self, note: str) -> None:
        self.note = note
        self.update()

    def _geom(self):
        iw, ih = self.image.width(), self.image.height()
        s = min(self.width() / iw, self.height() / ih)
        return s, (self.width() - iw * s) / 2, (self.height() - ih * s) / 2

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 28))
        if self.image is None:
            p.setPen(QColor(170, 170, 180))
            p.drawText(self.rect().adjusted(10, 10, -10, -10), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.note)
            return
        s, ox, oy = self._geom()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(QRectF(ox, oy, self.image.width() * s, self.image.height() * s), self.image)
        rig = self.rig
        boxes = rig.all_boxes or [rig.box]
        for i, b in enumerate(boxes):
            chosen = i == rig.face_index
            p.setPen(QPen(QColor(80, 230, 120) if chosen else QColor(240, 200, 80), 2 if chosen else 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(ox + b.x0 * s, oy + b.y0 * s, (b.x1 - b.x0) * s, (b.y1 - b.y0) * s))
            if len(boxes) > 1:
                p.drawText(QPointF(ox + b.x0 * s + 3, oy + b.y0 * s - 4), f"face {i + 1}")
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(120, 220, 255, 200))
        pts = rig.landmarks[:, :2]
        for x, y in pts[:: 2 if s < 0.6 else 1]:
            p.drawEllipse(QPointF(ox + x * s, oy + y * s), 1.0, 1.0)

    def mousePressEvent(self, ev) -> None:
        if self.rig is None or self.image is None or len(self.rig.all_boxes) < 2:
            return
        s, ox, oy = self._geom()
        x, y = (ev.position().x() - ox) / s, (ev.position().y() - oy) / s
        for i, b in enumerate(self.rig.all_boxes):
            if b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1:
                self.face_clicked.emit(i)
                return


class MediaPanel(QWidget):
    def __init__(self, session, runner, parent=None):
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.portrait_check: Task | None = None
        self.narration = NarrationChanger(session, runner, self)
        self.recognised = ""          # words the analysis recognised, shown when there is no usable script
        self.script_box: QMessageBox | None = None
        self.view = PortraitView()
        self.view.face_clicked.connect(self.pick_face)
        self.face = QComboBox()
        self.face.setToolTip("Which face to animate when the photo has several (largest first)")
        self.face.activated.connect(lambda i: self.pick_face(i))
        self.btn_portrait = QPushButton("Portrait...")
        self.btn_portrait.setToolTip("Choose the photo to animate (or drop it on the window)")
        self.btn_portrait.clicked.connect(self.choose_portrait)
        self.btn_audio = QPushButton("Narration...")
        self.btn_audio.setToolTip("Choose the narration (WAV, MP3, M4A, FLAC, OGG or a video's audio)")
        self.btn_audio.clicked.connect(self.choose_narration)
        self.btn_record = QPushButton("Record...")
        self.btn_record.clicked.connect(self.record)
        self.recorder = None
        self.check_microphone()
        self.audio_label = QLabel("No narration")
        self.audio_label.setWordWrap(True)
        self.script = QPlainTextEdit()
        self.script.setPlaceholderText("The narration's words (optional: better lip-sync and emotion)")
        self.script.textChanged.connect(self._script_edited)
        self.btn_script = QPushButton("Apply script")
        self.btn_script.setToolTip("Use this text for alignment and text emotion (re-analyses)")
        self.btn_script.setEnabled(False)
        self.btn_script.clicked.connect(self.apply_script)
        self.script_title = QLabel("Script")
        self.script_note = QLabel("")
        self.script_note.setObjectName("scriptNote")
        self.script_note.setWordWrap(True)
        self.script_note.setVisible(False)
        self.btn_recognised = QPushButton("Use the recognised words")
        self.btn_recognised.setToolTip("Replace the script by the words recognised from this narration "
                                       "(correct them, then Apply)")
        self.btn_recognised.setVisible(False)
        self.btn_recognised.clicked.connect(self.use_recognised)
        self._heard = ""              # what the analysis recognised while a typed script was set aside
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)

        row = QHBoxLayout()
        row.addWidget(self.btn_portrait)
        row.addWidget(QLabel("Face"))
        row.addWidget(self.face, 1)
        arow = QHBoxLayout()
        arow.addWidget(self.btn_audio)
        arow.addWidget(self.btn_record)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 3)
        lay.addLayout(row)
        lay.addWidget(self.busy)
        lay.addLayout(arow)
        lay.addWidget(self.audio_label)
        lay.addWidget(self.script_title)
        lay.addWidget(self.script, 2)
        lay.addWidget(self.script_note)
        lay.addWidget(self.btn_recognised)
        lay.addWidget(self.btn_script)
        session.analysis_ready.connect(self._on_analysis)
        session.analysis_cleared.connect(self._on_cleared)
        session.analysis_started.connect(lambda: self.view.set_note("Finding the face..."))
        session.changed.connect(self._on_changed)
        session.project_loaded.connect(self._sync_all)
        self._sync_all()

    @property
    def checking(self) -> bool:
        """A portrait or narration is being read before it enters the project."""
        return self.portrait_check is not None or self.narration.checking is not None

    # -- sync from the project -------------------------------------------------
    def _sync_all(self) -> None:
        p = self.session.project
        self.recognised = ""
        self._show_script(p.script)
        self.script_title.setText("Script")
        self.script_note.setVisible(False)
        self.btn_recognised.setVisible(False)
        self.btn_script.setEnabled(False)
        self.audio_label.setText(Path(p.narration).name if p.narration else "No narration")
        if not self.session.analysis:
            self.view.set_rig(None)
            self.face.clear()

    def _show_script(self, text: str) -> None:
        if self.script.toPlainText() != text:
            self.script.blockSignals(True)
            self.script.setPlainText(text)
            self.script.blockSignals(False)

    def _on_changed(self, key: str) -> None:
        if key == "script":
            self.recognised = ""
            self._show_script(self.session.project.script)
            self.script_title.setText("Script")
            self.script_note.setVisible(False)
            self.btn_recognised.setVisible(False)
            self.btn_script.setEnabled(False)
        elif key == "narration":
            self._sync_all()

    def _on_analysis(self) -> None:
        an = self.session.analysis
        self.view.set_rig(an.rig)
        self.face.clear()
        boxes = an.rig.all_boxes or [an.rig.box]
        for i, b in enumerate(boxes):
            self.face.addItem(f"Face {i + 1} of {len(boxes)} ({b.x1 - b.x0:.0f} px wide)")
        self.face.setCurrentIndex(an.rig.face_index)
        self.face.setEnabled(len(boxes) > 1)
        a = an.audio
        al = an.tracks.alignment
        self.audio_label.setText(f"{Path(self.session.project.narration).name}: {a.duration:.1f} s, "
                                 f"{al.source} timing, {len(al.words)} words")
        self._show_recognised(al)

    def _show_recognised(self, al) -> None:
        """Recognised words in the box (to correct and apply) and why a typed script was not used."""
        script = self.session.project.script.strip()
        why = [w for w in al.warnings if "script" in w and "not" in w]
        self.recognised = ""
        if al.source == "asr" and al.script and not script:
            self.recognised = al.script
            self._show_script(al.script)
            self.script_title.setText("Script (recognised from the audio: correct it and Apply)")
        else:
            self.script_title.setText("Script")
        if script and al.source != "forced":
            self.script_note.setText("This script was not used: " + (why[0] if why else
                                     f"the words come from {al.source} timing."))
            self.script_note.setVisible(True)
        else:
            self.script_note.setVisible(False)
        self._heard = al.script if script and al.source == "asr" and al.script else ""
        self.btn_recognised.setVisible(bool(self._heard))
        self._script_edited()

    def _on_cleared(self) -> None:
        p = self.session.project
        self.view.set_rig(None)
        missing = self.session.missing_media()
        if missing:
            self.view.set_note(f"The {' and '.join(missing)} cannot be found: File > Locate missing media...")
            return
        self.view.set_note("Analysing..." if self.session.analysing else
                           ("Portrait and narration needed." if not (p.portrait and p.narration) else "Not analysed."))

    # -- actions -------------------------------------------------------------
    def choose_portrait(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Portrait", "", IMAGE_FILTER)
        if path:
            self.load_portrait(path)

    def load_portrait(self, path: str) -> Task:
        """Check for a face off the GUI thread; only a usable portrait enters the project."""
        self.busy.setVisible(True)
        task = Task(check_portrait, str(path), name="portrait")
        self.portrait_check = task

        def ok(rig, path=str(path)):
            self.session.edit("portrait", path, "Set portrait")
            if self.session.project.face is not None:
                self.session.edit("face", None, "Pick face")

        def done():
            self.busy.setVisible(False)
            self.portrait_check = None

        task.signals.done.connect(while_alive(self, ok))
        task.signals.failed.connect(while_alive(self, lambda e: show_error(self.window(), e, "Portrait")))
        task.signals.finished.connect(while_alive(self, done))
        self.runner.start(task)
        return task

    def choose_narration(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Narration", "", AUDIO_FILTER)
        if path:
            self.load_narration(path)

    def load_narration(self, path: str) -> Task:
        """Read the file on a worker; then replace the narration, asking about old edits (app/narration.py)."""
        self.busy.setVisible(True)
        task = self.narration.request(path)
        task.signals.finished.connect(while_alive(self, lambda: self.busy.setVisible(self.checking)))
        return task

    def pick_face(self, index: int) -> None:
        an = self.session.analysis
        if an is None or index == an.rig.face_index:
            return
        self.session.edit("face", int(index), f"Pick face {index + 1}")

    def _script_edited(self) -> None:
        text = self.script.toPlainText()
        self.btn_script.setEnabled(text != self.session.project.script and text != self.recognised)

    def use_recognised(self) -> None:
        """The typed script did not match: put the recognised words in the box, ready to correct and apply."""
        if self._heard:
            self.script.setPlainText(self._heard)
            self.btn_script.setEnabled(True)

    def apply_script(self) -> QMessageBox | None:
        """Use the box's text; word edits belong to the old words, so ask before dropping them."""
        text = self.script.toPlainText()
        if self.session.project.alignment is None:
            self.session.edit("script", text, "Edit script")
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Apply script",
                          "You edited word timings or words. A new script is aligned afresh, so those edits "
                          "will be replaced by the new alignment (Undo brings them back).",
                          QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel, self.window())
        box.setObjectName("scriptQuestion")

        def answered(_r, b=box, text=text):
            self.script_box = None
            if b.standardButton(b.clickedButton()) == QMessageBox.StandardButton.Apply:
                self.session.edit_many({"script": text, "alignment": None}, "Edit script")

        box.finished.connect(answered)
        self.script_box = box
        box.open()
        return box

    def check_microphone(self) -> bool:
        """Enable Record only with PortAudio and an input device; otherwise say why."""
        from app.recorder import input_status

        ok, why = input_status()
        self.btn_record.setEnabled(ok)
        self.btn_record.setToolTip("Record a narration from the microphone; it is saved beside the project"
                                   if ok else f"Recording is unavailable: {why}")
        return ok

    def record(self):
        """Open the recorder; the saved take becomes the narration (one undo step)."""
        from app.recorder import RecordDialog, recording_path

        p = self.session.project
        dlg = RecordDialog(recording_path(p.path, p.name), self.runner, self)
        dlg.recorded.connect(self.load_narration)
        dlg.open()
        self.recorder = dlg
        return dlg
