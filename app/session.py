"""The open project and everything derived from it, plus its undo stack.

Every edit goes through ``Session.edit`` which pushes a ``SetCommand`` on
the QUndoStack, so undo/redo covers every panel the same way. Edits to the
media, the face or the script need a new analysis (cached by core, so it is
fast the second time); every other edit only rebuilds the motion from the
kept analysis (core.project.apply_project: emotion control + build_motion),
never re-analysing.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.errors import UserInputError
from core.project import (
    ANALYSIS_FPS, ExportOptions, Project, apply_project, discard_autosave, load_project,
    write_autosave,
)

# imported with the window, not when the sample is opened (it took 0.1-0.25 s on the GUI thread then)
from core.pipeline import sample_paths

from app.waveform import WavePyramid
from app.workers import Runner, Task, while_alive

log = logging.getLogger("synchrorama.app")

ANALYSIS_KEYS = {"portrait", "narration", "script", "face"}
MOTION_KEYS = {"curves", "emotion", "emotion_strength", "scenes", "alignment", "seed", "head_motion",
               "blink_rate", "expressiveness", "mouth_keys"}


@dataclass
class Analysis:
    """What analysis produced for one set of media (kept while only edits change)."""

    key: tuple
    rig: Any            # core.face.rig.FaceRig
    audio: Any          # core.io.audio.Audio
    feats: Any          # core.speech.features.AudioFeatures
    tracks: Any         # core.tracks.Tracks as analysed
    pyramid: WavePyramid


def analysis_job(project: Project, cache_root: str | None, *, progress, cancel) -> Analysis:
    """Worker-thread body: core.project.analyse_project, run in the helper process (app/analysis_process.py:
    on a thread of this process it held the event loop up to 1.9 s), plus what the timeline draws."""
    from app.analysis_process import helper

    a = helper().call("analyse", project, cache_root, progress=progress, cancel=cancel)
    cancel.check()
    pyramid = WavePyramid.build(a.audio.samples, a.audio.sample_rate)
    key = (project.portrait, project.narration, project.script, project.face, ANALYSIS_FPS)
    return Analysis(key, a.rig, a.audio, a.feats, a.tracks, pyramid)


def motion_job(project: Project, analysis: Analysis, *, progress, cancel):
    warnings: list[str] = []
    return apply_project(project, analysis.tracks, analysis.feats, warnings=warnings), warnings


class SetCommand(QUndoCommand):
    """Set one project field; old and new values are deep copies."""

    def __init__(self, session: "Session", key: str, old: Any, new: Any, text: str, merge: int = -1):
        super().__init__(text)
        self.session, self.key, self.old, self.new, self.merge = session, key, old, new, merge

    def redo(self) -> None:
        self.session._apply(self.key, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.session._apply(self.key, copy.deepcopy(self.old))

    def id(self) -> int:
        return self.merge

    def mergeWith(self, other: QUndoCommand) -> bool:
        if isinstance(other, SetCommand) and other.key == self.key and self.merge != -1:
            self.new = other.new
            return True
        return False


class MultiSetCommand(QUndoCommand):
    """Set several project fields as one step (a new narration and what was timed to the old one)."""

    def __init__(self, session: "Session", old: dict, new: dict, text: str):
        super().__init__(text)
        self.session, self.old, self.new = session, old, new

    def redo(self) -> None:
        self.session._apply_many(copy.deepcopy(self.new))

    def undo(self) -> None:
        self.session._apply_many(copy.deepcopy(self.old))


class Session(QObject):
    changed = Signal(str)            # a project field changed (after edit, undo or redo)
    project_loaded = Signal()        # a new document replaced the old one
    analysis_started = Signal()
    analysis_progress = Signal(str, float, float)
    analysis_ready = Signal()
    analysis_cleared = Signal()
    media_missing = Signal(list)     # ["portrait", "narration"]: not where the project says (moved?)
    motion_ready = Signal()          # self.tracks holds the latest edit
    message = Signal(str)            # status-bar text
    saved = Signal(str)              # the project was written to this path
    error = Signal(object)           # an exception to show as a dialog

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = Project()
        self.undo = QUndoStack(self)
        self.long = Runner(1, self)     # analysis, suggestions
        self.quick = Runner(1, self)    # motion rebuilds
        self.analysis: Analysis | None = None
        self.tracks = None              # effective Tracks for preview/export
        self.warnings: list[str] = []
        self.cache_root: str | None = None   # Settings > cache location ("" / None = the user cache)
        self.session_id = uuid.uuid4().hex[:12]
        self._analysis_task: Task | None = None
        self._motion_gen = 0
        self.motion_done_gen = 0
        self._motion_busy = False
        self._motion_again = False
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(30_000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._autosaved_index: int | None = 0

    # -- documents -----------------------------------------------------------
    def replace_project(self, project: Project, analyse: bool = True) -> None:
        self.discard_autosave()
        self.project = project
        self.undo.clear()
        self._autosaved_index: int | None = 0   # undo index of the last autosave
        self.analysis, self.tracks = None, None
        self.analysis_cleared.emit()
        self.project_loaded.emit()
        if analyse:
            self.start_analysis()

    def new_project(self, portrait: str = "", narration: str = "", script: str = "", name: str = "Untitled",
                    export: ExportOptions | None = None) -> None:
        self.replace_project(Project(name=name, portrait=portrait, narration=narration, script=script,
                                     export=copy.deepcopy(export) if export else ExportOptions()))

    def sample_project(self, export: ExportOptions | None = None) -> None:
        img, wav, txt = sample_paths()
        script = txt.read_text(encoding="utf-8").strip() if txt.exists() else ""
        self.new_project(str(img), str(wav), script, name="Sample", export=export)

    def restore(self, project: Project) -> None:
        """A recovered autosave: its content, marked unsaved (it differs from any file on disk)."""
        self.replace_project(project)
        self.undo.resetClean()        # no clean state in the history: the title shows '*'
        self._autosaved_index = None  # and the next autosave tick writes this session's own copy

    def open_project(self, path: str | Path) -> None:
        self.replace_project(load_project(path))

    def save(self, path: str | Path | None = None) -> Path:
        old_path = self.project.path
        out = self.project.save(path)
        if not old_path:
            discard_autosave(None, self.session_id)
        self.undo.setClean()
        self.message.emit(f"Saved {out}")
        self.saved.emit(str(out))
        return out

    @property
    def dirty(self) -> bool:
        return not self.undo.isClean()

    def autosave(self) -> Path | None:
        """Write a recovery copy when there are unsaved edits since the last one."""
        if not self.dirty or self.undo.index() == self._autosaved_index:
            return None
        try:
            path = write_autosave(self.project, self.session_id)
        except OSError as exc:
            log.warning("autosave failed: %s", exc)
            return None
        self._autosaved_index = self.undo.index()
        return path

    def discard_autosave(self) -> None:
        discard_autosave(self.project.path or None, self.session_id)
        discard_autosave(None, self.session_id)

    # -- edits ---------------------------------------------------------------
    def value(self, key: str) -> Any:
        return copy.deepcopy(getattr(self.project, key))

    def edit(self, key: str, new: Any, text: str, merge: int = -1) -> None:
        old = getattr(self.project, key)
        if old == new:
            return
        self.undo.push(SetCommand(self, key, copy.deepcopy(old), copy.deepcopy(new), text, merge))

    def edit_many(self, changes: dict[str, Any], text: str) -> None:
        """Several fields in one undo step; analysis or motion runs once for all of them."""
        changes = {k: v for k, v in changes.items() if getattr(self.project, k) != v}
        if not changes:
            return
        old = {k: copy.deepcopy(getattr(self.project, k)) for k in changes}
        self.undo.push(MultiSetCommand(self, old, copy.deepcopy(changes), text))

    def _apply_many(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            setattr(self.project, k, v)
        for k in values:
            self.changed.emit(k)
        if ANALYSIS_KEYS & set(values):
            self.start_analysis()
        elif MOTION_KEYS & set(values):
            self.rebuild_motion()

    def _apply(self, key: str, value: Any) -> None:
        setattr(self.project, key, value)
        self.changed.emit(key)
        if key in ANALYSIS_KEYS:
            self.start_analysis()
        elif key in MOTION_KEYS:
            self.rebuild_motion()

    # -- analysis ------------------------------------------------------------
    def analysis_key(self) -> tuple:
        p = self.project
        return (p.portrait, p.narration, p.script, p.face, ANALYSIS_FPS)

    def start_analysis(self) -> None:
        p = self.project
        if self._analysis_task is not None:
            self._analysis_task.cancel()
        if not (p.portrait and p.narration):
            self.analysis, self.tracks = None, None
            self.analysis_cleared.emit()
            return
        if self.analysis is not None and self.analysis.key == self.analysis_key():
            self.rebuild_motion()
            return
        missing = self.missing_media()
        if missing:
            # a moved or renamed file: nothing to analyse; the window offers Locate...
            self._analysis_task = None
            self.analysis, self.tracks = None, None
            self.analysis_cleared.emit()
            self.media_missing.emit(missing)
            return
        task = Task(analysis_job, copy.deepcopy(p), self.cache_root, name="analysis")
        self._analysis_task = task
        task.signals.progress.connect(self.analysis_progress)
        task.signals.done.connect(while_alive(self, lambda a, t=task: self._analysis_done(t, a)))
        task.signals.failed.connect(while_alive(self, lambda e, t=task: self._analysis_failed(t, e)))
        self.analysis_started.emit()
        self.message.emit("Analysing the portrait and the narration...")
        self.long.start(task)

    def missing_media(self) -> list[str]:
        p = self.project
        return [k for k in ("portrait", "narration") if getattr(p, k) and not Path(getattr(p, k)).is_file()]

    @property
    def analysing(self) -> bool:
        return self._analysis_task is not None

    def _analysis_done(self, task: Task, analysis: Analysis) -> None:
        if task is not self._analysis_task:
            return
        self._analysis_task = None
        if analysis.key != self.analysis_key():
            self.start_analysis()   # the media changed while it ran
            return
        self.analysis = analysis
        self.message.emit(f"Analysed: {analysis.tracks.duration:.1f} s, "
                          f"{len(analysis.tracks.alignment.words)} words, "
                          f"{analysis.rig.n_faces} face(s)")
        self.analysis_ready.emit()
        self.rebuild_motion()

    def _analysis_failed(self, task: Task, exc: BaseException) -> None:
        if task is not self._analysis_task:
            return
        self._analysis_task = None
        self.analysis, self.tracks = None, None
        self.analysis_cleared.emit()
        self.error.emit(exc)

    # -- motion (after every edit; never re-analyses) ---------------------------
    @property
    def motion_pending(self) -> bool:
        return self.motion_done_gen != self._motion_gen or self.analysing

    def rebuild_motion(self) -> None:
        if self.analysis is None:
            return
        self._motion_gen += 1
        if self._motion_busy:
            self._motion_again = True   # coalesce: one rebuild after the running one
            return
        self._start_motion()

    def _start_motion(self) -> None:
        if self.analysis is None:      # the media changed while a rebuild ran: the next analysis rebuilds
            self._motion_busy, self._motion_again = False, False
            return
        self._motion_busy, self._motion_again = True, False
        gen = self._motion_gen
        task = Task(motion_job, copy.deepcopy(self.project), self.analysis, name="motion")
        task.signals.done.connect(while_alive(self, lambda r, g=gen: self._motion_done(g, r)))
        task.signals.failed.connect(while_alive(self, lambda e, g=gen: self._motion_failed(g, e)))
        self.quick.start(task)

    def _motion_finished(self, gen: int) -> None:
        self._motion_busy = False
        if self._motion_again or gen != self._motion_gen:
            self._start_motion()

    def _motion_done(self, gen: int, result) -> None:
        tracks, warnings = result
        if self.analysis is not None and tracks.duration == self.analysis.tracks.duration:
            self.tracks, self.warnings = tracks, warnings
            self.motion_done_gen = gen
            self.motion_ready.emit()
        self._motion_finished(gen)

    def _motion_failed(self, gen: int, exc: BaseException) -> None:
        self.motion_done_gen = gen
        self._motion_finished(gen)
        if isinstance(exc, UserInputError):
            self.message.emit(f"Not applied: {exc}")
        else:
            self.error.emit(exc)

    def shutdown(self) -> None:
        self.long.cancel_all()
        self.quick.cancel_all()
        self.long.stop(10000)
        self.quick.stop(10000)
