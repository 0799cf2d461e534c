"""The main window: media on the left, preview and curve editor in the middle,
the timeline below, scenes and export on the right."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QScrollArea, QSplitter, QTabWidget,
    QVBoxLayout, QWidget,
)

from core.project import SUFFIX, find_recoveries

from app.curve_editor import CurveEditor
from app.errors import LOG_FILE, show_error
from app.export_panel import ExportPanel
from app.media_panel import AUDIO_EXT, IMAGE_EXT, MediaPanel
from app.performance_panel import PerformancePanel
from app.preview import PreviewEngine, PreviewView
from app.scene_panel import ScenePanel
from app.session import Session
from app.settings import AppSettings
from app.timeline import Timeline
from app.transport import TimeView, Transport
from app.workers import Runner

log = logging.getLogger("synchrorama.app")
PROJECT_FILTER = f"SynchroRaMa project (*{SUFFIX})"
# the window must fit a 1024x640 screen (issue 18): the docks' narrowest widths and the
# preview's lowest height leave the curve editor room to edit in
MIN_WINDOW = (1024, 640)
MEDIA_MIN_W = 190
RIGHT_MIN_W = 270
PREVIEW_MIN_H = 120


def _scrolled(w: QWidget) -> QScrollArea:
    """A panel that scrolls instead of being cut off on a short screen."""
    area = QScrollArea()
    area.setWidget(w)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, ask: bool = True):
        super().__init__()
        self.ask = ask                      # False in tests and screenshots: no blocking questions
        self.settings = settings or AppSettings.load()
        self.session = Session(self)
        self.session.cache_root = self.settings.cache_root or None
        self.transport = Transport(self)
        self.view = TimeView(self)
        self.tools = Runner(1, self)
        self.setWindowTitle("SynchroRaMa Studio")
        self.setAcceptDrops(True)
        self.resize(1440, 900)

        self.preview = PreviewView()
        self.engine = PreviewEngine(self)
        self.engine.frame_ready.connect(self.preview.show_frame)
        self.engine.failed.connect(lambda m: self.statusBar().showMessage(f"Preview: {m}", 8000))
        self.engine.start()
        QTimer.singleShot(0, self._warm_up_helpers)
        self.curves = CurveEditor(self.session, self.transport, self.view)
        self.timeline = Timeline(self.session, self.transport, self.view)
        self.media = MediaPanel(self.session, self.tools)
        self.scenes = ScenePanel(self.session, self.tools, self.settings, self.timeline, self.transport)
        self.export = ExportPanel(self.session, self.settings)
        self.performance = PerformancePanel(self.session)

        # the curve editor and the timeline share one width and left edge, so the
        # same time sits at the same x in both (they share one TimeView); scenes and
        # export get the full height of a right dock, so nothing there is cut off
        right = QTabWidget()
        right.addTab(self.scenes, "Scenes")
        right.addTab(_scrolled(self.performance), "Motion && emotion")
        right.addTab(_scrolled(self.export), "Export")
        right.setMinimumWidth(RIGHT_MIN_W)
        self.right_tabs = right
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.preview)
        centre.addWidget(self.curves)
        centre.addWidget(self.timeline)
        for i, f in enumerate((5, 4, 3)):
            centre.setStretchFactor(i, f)
        centre.setChildrenCollapsible(False)
        self.centre = centre
        self._sized = False
        self.setCentralWidget(centre)
        self.media_dock = self._dock("Media", _scrolled(self.media), Qt.DockWidgetArea.LeftDockWidgetArea)
        self.media_dock.setMinimumWidth(MEDIA_MIN_W)
        self.right_dock = self._dock("Scenes and export", right, Qt.DockWidgetArea.RightDockWidgetArea)

        self.busy = QProgressBar()
        self.busy.setMaximumWidth(220)
        self.busy.setRange(0, 1000)
        self.busy.setVisible(False)
        self.audio_note = QLabel("")
        # what the analysis or render did without (a missing optional package...): stays
        # until the next motion, every note in its tooltip (core's tracks warnings)
        self.analysis_note = QLabel("")
        self.analysis_note.setObjectName("analysisNotes")
        self.analysis_note.setVisible(False)
        self.statusBar().addPermanentWidget(self.analysis_note)
        self.statusBar().addPermanentWidget(self.audio_note)
        self.statusBar().addPermanentWidget(self.busy)
        if not self.transport.audio.available:
            self.audio_note.setText("silent preview")
            self.audio_note.setToolTip(self.transport.audio.note)

        self._build_actions()
        s = self.session
        s.message.connect(lambda m: self.statusBar().showMessage(m, 10000))
        s.error.connect(lambda e: show_error(self, e))
        s.analysis_started.connect(self._analysis_started)
        s.analysis_progress.connect(self._analysis_progress)
        s.analysis_ready.connect(self._analysis_ready)
        s.analysis_cleared.connect(self._analysis_cleared)
        s.media_missing.connect(self.offer_locate)
        s.motion_ready.connect(self._motion_ready)
        s.undo.cleanChanged.connect(self._clean_changed)
        self.timeline.canvas.note.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.media.narration.changed.connect(lambda m: self.statusBar().showMessage(m, 10000))
        s.project_loaded.connect(self._title)
        s.project_loaded.connect(self.transport.stop)
        self.transport.position_changed.connect(self._position)
        self.transport.state_changed.connect(self._play_state)
        self._title()

    @staticmethod
    def _warm_up_helpers() -> None:
        """The analysis and preview processes start while the user is still choosing files."""
        from app.analysis_process import helper
        from app.render_process import render_helper

        helper().warm_up()
        render_helper().warm_up()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self._sized:
            self._sized = True
            self.size_panes()

    def size_panes(self) -> None:
        """Initial proportions: the preview, a curve editor tall enough to edit in, the timeline's lanes.

        On a small window (1024 wide) the docks take their minimum widths so the centre keeps the rest.
        """
        w = self.width()
        small = w < 1200
        media = MEDIA_MIN_W + 30 if small else max(240, w * 18 // 100)
        right = RIGHT_MIN_W + 20 if small else max(360, w * 27 // 100)
        self.resizeDocks([self.media_dock, self.right_dock], [media, right], Qt.Orientation.Horizontal)
        h = max(self.centre.height(), 400)
        lanes = self.timeline.minimumSizeHint().height() + (4 if h < 600 else 24)
        curves = max(200 if h < 600 else 230, h * 32 // 100)
        self.centre.setSizes([max(h - curves - lanes, PREVIEW_MIN_H), curves, lanes])

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        """A side panel that can be moved, floated or closed (View menu brings it back) on a small screen."""
        d = QDockWidget(title, self)
        d.setObjectName(title)
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, d)
        return d

    # -- actions and shortcuts ----------------------------------------------------
    def _act(self, menu, text, slot, shortcut=None, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._act(f, "&New", self.new_project, QKeySequence.StandardKey.New)
        self._act(f, "New from &sample", self.open_sample, tip="The embedded portrait and narration")
        self._act(f, "&Open...", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._act(f, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._act(f, "Save &as...", self.save_as, QKeySequence.StandardKey.SaveAs)
        f.addSeparator()
        self._act(f, "Import &portrait...", self.media.choose_portrait)
        self._act(f, "Import &narration...", self.media.choose_narration)
        self.locate_action = self._act(f, "&Locate missing media...", lambda: self.offer_locate(),
                                       tip="Point the project at a portrait or narration that was moved")
        self.locate_action.setEnabled(False)
        f.addSeparator()
        self.export_action = self._act(f, "&Export video", self.export_video, "Ctrl+E",
                                       "Render the project to an MP4 with the Export tab's settings")
        f.addSeparator()
        self._act(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Edit")
        undo = self.session.undo.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.session.undo.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for a in (undo, redo):
            e.addAction(a)
            self.addAction(a)
        self.undo_action, self.redo_action = undo, redo
        p = mb.addMenu("&Playback")
        self._act(p, "Play / pause", self.transport.toggle, Qt.Key.Key_Space)
        self._act(p, "Reverse (J)", lambda: self.transport.shuttle(-1), Qt.Key.Key_J)
        self._act(p, "Stop (K)", lambda: self.transport.shuttle(0), Qt.Key.Key_K)
        self._act(p, "Forward (L, again: faster)", lambda: self.transport.shuttle(1), Qt.Key.Key_L)
        self._act(p, "Previous frame", lambda: self.transport.step(-1), Qt.Key.Key_Left)
        self._act(p, "Next frame", lambda: self.transport.step(1), Qt.Key.Key_Right)
        self._act(p, "Go to start", lambda: self.transport.seek(0), Qt.Key.Key_Home)
        v = mb.addMenu("&View")
        self._act(v, "Zoom in", lambda: self.view.zoom(1.5, self.transport.position), Qt.Key.Key_Plus)
        self._act(v, "Zoom out", lambda: self.view.zoom(1 / 1.5, self.transport.position), Qt.Key.Key_Minus)
        self._act(v, "Fit the whole narration", self.fit, "Ctrl+0")
        v.addSeparator()
        for dock, key in ((self.media_dock, "Ctrl+1"), (self.right_dock, "Ctrl+2")):
            a = dock.toggleViewAction()
            a.setText(f"Show {dock.windowTitle().lower()} panel")
            a.setShortcut(QKeySequence(key))
            a.setStatusTip("Hide it to give the preview and curves more room")
            v.addAction(a)
            self.addAction(a)
        t = mb.addMenu("&Tools")
        self._act(t, "&Analyse again", self.session.start_analysis, "F5")
        self._act(t, "&Models...", self.show_models)
        self._act(t, "&Settings...", self.show_settings)
        h = mb.addMenu("&Help")
        self._act(h, "&Getting started", lambda: self.show_help("getting started"), QKeySequence.StandardKey.HelpContents)
        self._act(h, "&Keyboard and mouse shortcuts", lambda: self.show_help("shortcuts"))
        self._act(h, "Where is the &log?", lambda: self.show_help("log"))
        h.addSeparator()
        self._act(h, "&About SynchroRaMa Studio", lambda: self.show_help("about"))
        self.tool = self.addToolBar("Main")
        self.tool.setObjectName("main-toolbar")
        self.tool.setMovable(False)
        self.play_action = QAction("Play", self)
        self.play_action.triggered.connect(self.transport.toggle)
        self.play_action.setToolTip("Play / pause (Space)")
        for a in (undo, redo):
            self.tool.addAction(a)
        self.tool.addSeparator()
        self.tool.addAction(self.play_action)
        self.time_label = QLabel("  0:00.00 / 0:00.00  ")
        self.tool.addWidget(self.time_label)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _c=False, p=path: self.open_project(p))
        if not self.settings.recent:
            a = self.recent_menu.addAction("(none yet)")
            a.setEnabled(False)

    # -- documents ---------------------------------------------------------------
    def _clean_changed(self, _clean: bool) -> None:
        self._title()

    def _title(self) -> None:
        p = self.session.project
        name = Path(p.path).name if p.path else p.name
        self.setWindowTitle(f"{name}{'*' if self.session.dirty else ''} - SynchroRaMa Studio")

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document."""
        if not self.session.dirty or not self.ask:
            return True
        r = QMessageBox.question(self, "Unsaved changes", "Save the changes to this project first?",
                                 QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                 | QMessageBox.StandardButton.Cancel)
        if r == QMessageBox.StandardButton.Save:
            return self.save()
        return r == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if self.confirm_discard():
            self.session.new_project(export=self.settings.export)

    def open_sample(self) -> None:
        if self.confirm_discard():
            self.session.sample_project(export=self.settings.export)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_project(path, confirmed=True)

    def open_project(self, path: str, confirmed: bool = False) -> bool:
        if not confirmed and not self.confirm_discard():
            return False
        try:
            self.session.open_project(path)
        except Exception as exc:  # noqa: BLE001 - a bad file is a dialog
            show_error(self, exc, "Open project")
            return False
        self.settings.add_recent(path)
        return True

    def save(self) -> bool:
        if not self.session.project.path:
            return self.save_as()
        return self._save_to(None)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", self.session.project.name + SUFFIX, PROJECT_FILTER)
        return self._save_to(path) if path else False

    def _save_to(self, path) -> bool:
        try:
            out = self.session.save(path)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, "Save")
            return False
        self.settings.add_recent(str(out))
        self._title()
        return True

    def offer_recovery(self) -> QMessageBox | None:
        """After a crash: offer the newest autosave a dead session left (a non-blocking question)."""
        recs = find_recoveries()
        if not recs:
            return None
        r = recs[0]
        what = f"'{r.origin}'" if r.origin else "an unsaved project"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.saved_at))
        box = QMessageBox(QMessageBox.Icon.Question, "Recover",
                          f"SynchroRaMa Studio did not close cleanly. Recover the copy of {what} autosaved at "
                          f"{when}?\n\nDiscard deletes that copy; Cancel asks again next time.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("recoverDialog")
        box.button(QMessageBox.StandardButton.Yes).setText("Recover")
        box.finished.connect(lambda _r, b=box, rec=r: self._recovery_answer(rec, b.standardButton(b.clickedButton())))
        box.open()
        self.recovery_box = box
        return box

    def _recovery_answer(self, rec, answer) -> None:
        if answer == QMessageBox.StandardButton.Cancel:
            return
        try:
            if answer == QMessageBox.StandardButton.Yes:
                proj = rec.load()
                rec.autosave.unlink(missing_ok=True)
                self.session.restore(proj)
                self.statusBar().showMessage(f"Recovered {proj.name}: save it to keep it.", 10000)
            else:
                rec.autosave.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - an unreadable autosave is a dialog
            show_error(self, exc, "Recover")

    # -- analysis / preview -------------------------------------------------------
    def _analysis_started(self) -> None:
        self.busy.setVisible(True)
        self.busy.setValue(0)
        self.preview.clear("Analysing the portrait and the narration...")

    def _analysis_progress(self, stage: str, done: float, total: float) -> None:
        self.busy.setValue(int(1000 * done / total) if total else 0)
        self.busy.setFormat(f"{stage} %p%")

    def _analysis_ready(self) -> None:
        self.busy.setVisible(False)
        self.locate_action.setEnabled(False)
        an = self.session.analysis
        self.view.duration = an.tracks.duration
        self.transport.set_media(an.audio.samples, an.audio.sample_rate, an.tracks.duration, an.tracks.fps)
        self.preview.fps = an.tracks.fps
        self.engine.set_playing(0, an.tracks.fps)
        self.engine.set_rig(an.rig)
        self.fit()

    def _analysis_cleared(self) -> None:
        self.analysis_note.setVisible(False)   # the notes were about the previous media
        if not self.session.analysing:
            self.busy.setVisible(False)
        self.engine.set_rig(None)
        self.preview.clear("Analysing..." if self.session.analysing else
                           "Load a portrait and a narration, or open the sample (File > New from sample).")

    def _motion_ready(self) -> None:
        self.engine.set_motion(self.session.tracks.motion, rerender=self.transport.frame())
        w = list(dict.fromkeys(self.session.warnings + list(self.session.tracks.settings.get("warnings", []))))
        if w:
            self.statusBar().showMessage(w[-1], 8000)
        self.analysis_note.setText(f"\u26a0 {len(w)} note{'s' if len(w) > 1 else ''}" if w else "")
        self.analysis_note.setToolTip("\n\n".join(w))
        self.analysis_note.setVisible(bool(w))

    def _position(self, t: float) -> None:
        self.engine.request(self.transport.frame())
        self.time_label.setText(f"  {int(t // 60)}:{t % 60:05.2f} / {int(self.transport.duration // 60)}:"
                                f"{self.transport.duration % 60:05.2f}  ")

    def _play_state(self) -> None:
        self.play_action.setText("Pause" if self.transport.playing else "Play")
        self.engine.set_playing(self.transport.rate, self.transport.fps)   # render ahead in that direction

    def fit(self) -> None:
        self.view.fit(max(self.timeline.canvas.width(), 400))

    def show_help(self, page: str):
        """A help page in a dialog that does not block the window."""
        from app import help as helppages

        title, body = {
            "getting started": ("Getting started", helppages.GETTING_STARTED),
            "shortcuts": ("Shortcuts", helppages.shortcuts_html(self)),
            "about": ("About SynchroRaMa Studio", helppages.about_html()),
            "log": ("Log", f"<p>The studio's log (errors with their details) is at</p><p><b>{LOG_FILE}</b></p>"),
        }[page]
        dlg = helppages.HelpDialog(title, body, self)
        dlg.open()
        self.help_dialog = dlg
        return dlg

    # -- media that moved ------------------------------------------------------------
    def offer_locate(self, missing: list[str] | None = None) -> QMessageBox | None:
        """The project's media are not where it says: ask (without blocking) to locate them."""
        missing = self.session.missing_media() if missing is None else missing
        self.locate_action.setEnabled(bool(missing))
        if not missing:
            return None
        p = self.session.project
        what = " and ".join(f"the {k}" for k in missing)
        paths = "".join(f"<li>{k}: {getattr(p, k)}</li>" for k in missing)
        self.preview.clear(f"{what[0].upper()}{what[1:]} is missing (moved or renamed?): File > Locate missing "
                           "media... points the project at it.")
        box = QMessageBox(QMessageBox.Icon.Warning, "Media not found",
                          f"<p>{what[0].upper()}{what[1:]} of this project cannot be found where it was:</p>"
                          f"<ul>{paths}</ul><p>Locate the file to go on; the project remembers the new place "
                          "when you save it.</p>", QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("missingMedia")
        locate = box.addButton("Locate...", QMessageBox.ButtonRole.AcceptRole)
        locate.setObjectName("locate")
        box.setDefaultButton(locate)

        def answered(_r, b=box, kind=missing[0]):
            self.missing_box = None
            if b.clickedButton() is locate:
                self.locate_dialog(kind)

        box.finished.connect(answered)
        self.missing_box = box
        box.open()
        return box

    def locate_dialog(self, kind: str) -> QFileDialog:
        """A file dialog for one missing file, opened in the folder it was in (or the project's)."""
        from app.media_panel import AUDIO_FILTER, IMAGE_FILTER

        p = self.session.project
        old = Path(getattr(p, kind))
        start = next((str(d) for d in (old.parent, Path(p.path).parent if p.path else None) if d and d.is_dir()), "")
        dlg = QFileDialog(self, f"Locate the {kind} ({old.name})", start,
                          IMAGE_FILTER if kind == "portrait" else AUDIO_FILTER)
        dlg.setObjectName("locateDialog")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(lambda f, k=kind: self.relink(k, f))
        dlg.open()
        self.locate_file_dialog = dlg
        return dlg

    def relink(self, kind: str, path: str) -> None:
        """Point ``kind`` at ``path``; another missing file with its old name in that folder comes along."""
        p = self.session.project
        changes = {kind: str(Path(path).resolve())}
        found = []
        for other in self.session.missing_media():
            if other == kind:
                continue
            cand = Path(path).parent / Path(getattr(p, other)).name
            if cand.is_file():
                changes[other] = str(cand.resolve())
                found.append(other)
        self.session.edit_many(changes, f"Locate {kind}")
        self.statusBar().showMessage(f"Located the {kind}" + (f"; found the {found[0]} there too" if found else "")
                                     + ". Save the project to keep the new place.", 10000)

    def export_video(self):
        """File > Export video: the Export tab, and the job queued (or why it cannot start)."""
        self.right_dock.show()
        self.right_tabs.setCurrentIndex(self.right_tabs.count() - 1)
        why = self.export.blocker()
        if why:
            self.statusBar().showMessage(f"Cannot export yet: {why}", 10000)
            return None
        return self.export.enqueue()

    # -- dialogs -------------------------------------------------------------------
    def show_models(self) -> None:
        from app.dialogs import ModelsDialog

        dlg = ModelsDialog(self)
        dlg.finished.connect(lambda _r: self.export.refresh_renderers())
        dlg.open()
        return dlg

    def show_settings(self) -> None:
        from app.dialogs import SettingsDialog

        dlg = SettingsDialog(self.settings, self, cuda=self.export.cuda)
        dlg.accepted.connect(self._settings_changed)
        dlg.open()
        return dlg

    def _settings_changed(self) -> None:
        """The cache folder applies to the next analysis; the export defaults to new projects."""
        self.session.cache_root = self.settings.cache_root or None
        self.export.refresh_renderers()

    # -- drag and drop -------------------------------------------------------------
    @staticmethod
    def _dropped(ev) -> list[str]:
        md = ev.mimeData()
        return [u.toLocalFile() for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []

    def dragEnterEvent(self, ev) -> None:
        known = IMAGE_EXT | AUDIO_EXT | {".txt", SUFFIX, ".json"}
        if any(Path(p).suffix.lower() in known for p in self._dropped(ev)):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dragMoveEvent(self, ev) -> None:
        self.dragEnterEvent(ev)

    def dropEvent(self, ev) -> None:
        paths = self._dropped(ev)
        if paths:
            ev.acceptProposedAction()
        for path in paths:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A dropped file goes where its type says."""
        ext = Path(path).suffix.lower()
        if ext in IMAGE_EXT:
            self.media.load_portrait(path)
        elif ext in AUDIO_EXT:
            self.media.load_narration(path)
        elif ext == ".txt":
            try:
                self.session.edit("script", Path(path).read_text(encoding="utf-8").strip(), "Set script")
            except (OSError, UnicodeDecodeError) as exc:
                show_error(self, exc)
        elif ext in (SUFFIX, ".json"):
            self.open_project(path)
        else:
            self.statusBar().showMessage(f"Not a portrait, narration, script or project: {path}", 8000)

    # -- state for screenshots and tests -------------------------------------------
    def settled(self) -> bool:
        s = self.session
        return (s.analysis is not None and not s.motion_pending and s.tracks is not None
                and self.preview.image is not None and not self.media.checking)

    def closeEvent(self, ev) -> None:
        if not self.confirm_discard():
            ev.ignore()
            return
        self.transport.stop()
        # the undo stack is deleted with the window: its last cleanChanged must not reach a
        # title that asks the deleted stack (a RuntimeError on quit after Discard)
        if not getattr(self, "_closed", False):
            self._closed = True
            self.session.undo.cleanChanged.disconnect(self._clean_changed)
        self.export.runner.cancel_all()
        self.timeline.canvas.runner.stop(10000)
        self.session.shutdown()
        self.export.runner.stop(10000)
        self.export.probe.stop(10000)
        self.tools.stop(10000)
        self.engine.stop()
        self.session.discard_autosave()
        ev.accept()
