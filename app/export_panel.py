"""Export: renderer, resolution, fps, quality, output; a queue run on a worker thread.

Each queued job snapshots the project and the analysis, so editing while an
export runs never changes what that export renders. A job renders with
core.pipeline.render_tracks, whose Mp4Writer writes to a temporary file and
renames it at the end: a cancelled or failed export leaves nothing at the
output path.

Where a video goes by default: beside the project file (<project>.mp4), or,
for a project never saved, the user's Videos folder (never the folder the
studio happened to be started from). An output that exists already, or that
a queued job will write, is replaced only after the user says so. A finished
job can be opened or shown in its folder; a queued one removed.
"""

from __future__ import annotations

import copy
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QMessageBox, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from core.project import ExportOptions, render_project

from app.errors import message_for
from app.workers import Runner, Task, while_alive


# project fields this panel shows: an undo/redo of any of them refreshes the widgets
PROJECT_KEYS = ("export",)


def videos_dir() -> Path:
    """The user's Videos folder (XDG / Windows known folder), else ~/Videos."""
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
    return Path(loc) if loc else Path.home() / "Videos"


def default_export(project) -> Path:
    """Where an export goes unless the user chose: beside the project, or in the Videos folder."""
    from core.project import _slug

    if project.export.output:
        return Path(project.export.output)
    if project.path:
        return Path(project.path).with_suffix(".mp4")
    return videos_dir() / f"{_slug(project.name)}.mp4"


def open_url(url: QUrl) -> bool:
    """Hand a file or folder to the desktop (a seam the tests replace: no file manager there)."""
    return QDesktopServices.openUrl(url)


def avatars() -> list[str]:
    """Installed models the diffusion renderer can use (kind contains 'diffusion')."""
    try:
        from core.models import list_models

        return [m.name for m in list_models() if "diffusion" in m.kind]
    except Exception:  # noqa: BLE001 - a broken store only hides the option
        return []


def diffusion_present() -> bool:
    """Whether this build has core.render.diffusion.renderer (checked without importing torch)."""
    try:
        return importlib.util.find_spec("core.render.diffusion.renderer") is not None
    except (ImportError, ValueError):
        return False


def cuda_status() -> tuple[bool, str]:
    """(usable, GPU name or why not). Imports torch: seconds, so only ever called on a worker."""
    if importlib.util.find_spec("torch") is None:
        return False, "torch is not installed"
    try:
        import torch

        if torch.cuda.is_available():
            return True, torch.cuda.get_device_name(0)
        return False, "torch sees no CUDA GPU on this machine"
    except Exception as exc:  # noqa: BLE001
        return False, f"torch failed to load ({exc.__class__.__name__})"


def _cuda_job(*, progress, cancel) -> tuple[bool, str]:
    return cuda_status()


def diffusion_status() -> tuple[bool, str]:
    """Whether the diffusion entry can be chosen at all, and if not, why."""
    if not diffusion_present():
        return False, ("The diffusion renderer's module (core.render.diffusion) is missing from this "
                       "installation: reinstall SynchroRaMa Studio.")
    return True, ""


def diffusion_blocker(cuda: tuple[bool, str] | None, names: list[str], avatar: str, device: str = "auto") -> str:
    """Why a diffusion export cannot start now ('' = it can). Settings > device 'cpu' needs no GPU."""
    if device != "cpu" and cuda is None:
        return "Checking for a CUDA GPU..."
    if device != "cpu" and not cuda[0]:
        return (f"The diffusion renderer needs a CUDA GPU: {cuda[1]}. Use the mesh renderer on this machine "
                "(or Settings > Device: CPU, very slow).")
    if not names:
        return ("No diffusion avatar installed: train one (synchrorama train-avatar) or import its folder "
                "in Tools > Models.")
    if avatar not in names:
        return f"The avatar '{avatar}' is not installed: pick another or import it in Tools > Models."
    return ""


def export_job(project, analysis, opts: ExportOptions, output: str, device: str, *, progress, cancel):
    """Worker body: the same render core.project.render_project gives `synchrorama render --project`."""
    return render_project(project, analysis, output, opts=opts, device=device, progress=progress, cancel=cancel)


@dataclass
class ExportJob:
    output: str
    opts: ExportOptions
    project: object
    analysis: object
    status: str = "queued"     # queued | running | done | cancelled | failed
    detail: str = ""
    task: Task | None = None
    started: float = 0.0
    result: object = None
    times: dict = field(default_factory=dict)


class ExportPanel(QWidget):
    job_finished = Signal(object)

    def __init__(self, session, settings, parent=None):
        super().__init__(parent)
        self.session, self.settings = session, settings
        self.runner = Runner(1, self)
        self.probe = Runner(1, self)          # the one-off CUDA check (imports torch)
        self.cuda: tuple[bool, str] | None = None
        self._cuda_task: Task | None = None
        self.jobs: list[ExportJob] = []
        self.current: ExportJob | None = None

        self.renderer = QComboBox()
        self.renderer.addItem("Mesh (CPU, fast)", "mesh")
        self.renderer.addItem("Diffusion (trained avatar)", "diffusion")
        self.avatar = QComboBox()
        self.size = QSpinBox()
        self.size.setRange(128, 1024)
        self.size.setSingleStep(64)
        self.size.setToolTip("Face-crop render resolution (the video keeps the portrait's size unless capped)")
        self.max_output = QSpinBox()
        self.max_output.setRange(0, 16384)   # 0 = portrait size, else 64..16384 (core/io/checks.py)
        self.max_output.setSingleStep(128)
        self.max_output.setSpecialValueText("portrait size")
        self.max_output.setToolTip("Cap on the video's long side in pixels")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(10, 60)
        self.fps.setDecimals(2)
        self.crf = QSpinBox()
        self.crf.setRange(12, 35)
        self.crf.setToolTip("x264 CRF: lower is better quality and a bigger file; 18 looks lossless")
        self.output = QLineEdit()
        browse = QPushButton("...")
        browse.setToolTip("Choose where the MP4 goes")
        browse.clicked.connect(self.browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse)
        for combo in (self.renderer, self.avatar):
            # long entries elide instead of widening the panel past a narrow dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(QLabel("<b>Video</b>"))
        form.addRow("Renderer", self.renderer)
        form.addRow("Avatar", self.avatar)
        form.addRow("Render size", self.size)
        form.addRow("Max output", self.max_output)
        form.addRow("Frame rate", self.fps)
        form.addRow("Quality (CRF)", self.crf)
        form.addRow("Output", out_row)
        self.renderer_note = QLabel("")
        self.renderer_note.setWordWrap(True)
        self.renderer_note.setObjectName("rendererNote")
        self.btn_export = QPushButton("Export")
        self.btn_export.setToolTip("Add to the queue and start")
        self.btn_export.clicked.connect(self.enqueue)
        self.btn_cancel = QPushButton("Cancel")
        self.btn_cancel.setToolTip("Stop the running export; nothing is left at its output path")
        self.btn_cancel.setEnabled(False)
        self.btn_cancel.clicked.connect(self.cancel_current)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.queue = QListWidget()
        self.queue.setObjectName("exportQueue")
        self.queue.setMaximumHeight(110)
        self.queue.currentRowChanged.connect(lambda _r: self._job_buttons())
        self.btn_open = QPushButton("Open")
        self.btn_open.setToolTip("Play the exported video")
        self.btn_open.clicked.connect(self.open_selected)
        self.btn_show = QPushButton("Show in folder")
        self.btn_show.setToolTip("Open the folder that holds the exported video")
        self.btn_show.clicked.connect(self.show_selected)
        self.btn_remove = QPushButton("Remove")
        self.btn_remove.setToolTip("Take the selected job off the list (a running one: Cancel it first)")
        self.btn_remove.clicked.connect(self.remove_selected)
        self.overwrite_box: QMessageBox | None = None
        row = QHBoxLayout()
        row.addWidget(self.btn_export)
        row.addWidget(self.btn_cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.renderer_note)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.eta)
        lay.addWidget(QLabel("Queue"))
        lay.addWidget(self.queue)
        jrow = QHBoxLayout()
        for b in (self.btn_open, self.btn_show, self.btn_remove):
            jrow.addWidget(b)
        lay.addLayout(jrow)
        lay.addStretch(1)

        self.max_output.valueChanged.connect(self._snap_max_output)
        for w in (self.size, self.max_output, self.crf):
            w.valueChanged.connect(self._edited)
        self.fps.valueChanged.connect(self._edited)
        self.renderer.currentIndexChanged.connect(self._edited)
        self.avatar.currentIndexChanged.connect(self._edited)
        self.output.editingFinished.connect(self._output_edited)
        session.changed.connect(lambda k: self.sync() if k in PROJECT_KEYS else None)
        session.project_loaded.connect(self.sync)
        session.analysis_ready.connect(self._enable)
        session.analysis_cleared.connect(self._enable)
        session.saved.connect(lambda _p: self._refresh_output())   # saved: the default is beside the file now
        self.refresh_renderers()
        self.sync()
        self._job_buttons()

    def _refresh_output(self) -> None:
        if not self.session.project.export.output:
            self.output.setText(str(default_export(self.session.project)))

    # -- options <-> project ---------------------------------------------------
    def refresh_renderers(self) -> None:
        """Re-read what can render: the diffusion module, CUDA (once, on a worker), the avatars."""
        ok, why = diffusion_status()
        item = self.renderer.model().item(1)
        item.setEnabled(ok)
        item.setToolTip(why or "A trained diffusion avatar (needs a CUDA GPU)")
        current = self.avatar.currentText() or self.session.project.export.avatar
        self.avatar.blockSignals(True)
        self.avatar.clear()
        self.avatar.addItems(avatars())
        if current:
            self.avatar.setCurrentText(current)
        self.avatar.blockSignals(False)
        self.renderer.setToolTip(why or "Mesh: warps the portrait on the CPU. Diffusion: a trained avatar on a GPU.")
        if self.renderer.currentData() == "diffusion" and self.options() != self.session.project.export:
            self._edited()        # the avatar shown is the one the project will export with
        if self.renderer.currentData() == "diffusion":
            self.check_cuda()
        self._enable()

    def check_cuda(self) -> None:
        """Ask once, on a worker, whether torch sees a CUDA GPU (importing torch takes seconds)."""
        if self.cuda is not None or self._cuda_task is not None or not diffusion_present():
            return
        task = Task(_cuda_job, name="cuda")
        self._cuda_task = task
        task.signals.done.connect(self._cuda_known)
        task.signals.failed.connect(lambda e: self._cuda_known((False, f"the check failed ({e})")))
        self.probe.start(task)

    def _cuda_known(self, result: tuple[bool, str]) -> None:
        self.cuda, self._cuda_task = result, None
        self._enable()

    def sync(self) -> None:
        o = self.session.project.export
        widgets = (self.size, self.max_output, self.fps, self.crf, self.renderer, self.avatar, self.output)
        for w in widgets:
            w.blockSignals(True)
        self.size.setValue(o.size)
        self.max_output.setValue(o.max_output)
        self.fps.setValue(o.fps)
        self.crf.setValue(o.crf)
        self.renderer.setCurrentIndex(max(0, self.renderer.findData(o.renderer)))
        if o.avatar:
            self.avatar.setCurrentText(o.avatar)
        self.output.setText(str(default_export(self.session.project)))
        for w in widgets:
            w.blockSignals(False)
        self._enable()

    def options(self, output: str | None = None) -> ExportOptions:
        """The form as export settings. The output stays what the project holds ("" = the default place)
        unless ``output`` is given (the user typed or browsed one): a default shown in the field is never
        stored as a fixed path, so it follows the project when it is saved elsewhere."""
        if output is None:
            out = self.session.project.export.output
        else:
            from dataclasses import replace

            out = output.strip()
            if out == str(default_export(replace(self.session.project,
                                                 export=replace(self.session.project.export, output="")))):
                out = ""
        return ExportOptions(renderer=self.renderer.currentData(), avatar=self.avatar.currentText(),
                             size=self.size.value(), max_output=self.max_output.value(), fps=self.fps.value(),
                             crf=self.crf.value(), output=out)

    def _output_edited(self) -> None:
        new = self.options(self.output.text())
        if new != self.session.project.export:
            self.session.edit("export", new, "Export output", merge=1001)
        self.output.setText(str(default_export(self.session.project)))

    def _snap_max_output(self, v: int) -> None:
        """A cap below 64 px is no video: typed values 1..63 snap to 64 (the export check refuses them)."""
        if 0 < v < 64:
            self.max_output.setValue(64)

    def _edited(self, *_a) -> None:
        new = self.options()
        if new != self.session.project.export:
            self.session.edit("export", new, "Export settings", merge=1001)
        self._enable()

    def blocker(self) -> str:
        """Why Export cannot start now ('' = it can)."""
        if self.session.analysis is None:
            return "Available once the portrait and narration are analysed"
        if self.renderer.currentData() == "diffusion":
            if not diffusion_present():
                return diffusion_status()[1]
            return diffusion_blocker(self.cuda, [self.avatar.itemText(i) for i in range(self.avatar.count())],
                                     self.avatar.currentText(), self.settings.device)
        return ""

    def _enable(self) -> None:
        diffusion = self.renderer.currentData() == "diffusion"
        if diffusion:
            self.check_cuda()
        self.avatar.setEnabled(diffusion and self.avatar.count() > 0)
        self.avatar.setToolTip("The trained avatar to render" if self.avatar.count()
                               else "No diffusion avatar installed (Tools > Models > Import folder...)")
        why = self.blocker()
        self.btn_export.setEnabled(not why)
        self.btn_export.setToolTip(why or "Add to the queue and start")
        self.renderer_note.setText(why if diffusion else "")
        self.renderer_note.setVisible(bool(diffusion and why))

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export video", self.output.text(), "MP4 video (*.mp4)")
        if path:
            self.output.setText(path if path.endswith(".mp4") else path + ".mp4")
            self._output_edited()

    # -- queue -----------------------------------------------------------------
    def enqueue(self, output: str | None = None) -> ExportJob | QMessageBox | None:
        """Queue an export; an output that exists (or a queued job will write) is replaced only when asked."""
        s = self.session
        if self.blocker():
            return None
        out = str(Path(output or self.output.text().strip() or default_export(s.project)).expanduser().resolve())
        pending = any(j.output == out and j.status in ("queued", "running") for j in self.jobs)
        if Path(out).exists() or pending:
            what = "is already in the queue" if pending else "exists already"
            box = QMessageBox(QMessageBox.Icon.Question, "Export",
                              f"{Path(out).name} {what} in {Path(out).parent}. Replace it?",
                              QMessageBox.StandardButton.Cancel, self.window())
            box.setObjectName("overwriteQuestion")
            replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
            replace.setObjectName("replace")
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)

            def answered(_r, b=box, out=out):
                self.overwrite_box = None
                if b.clickedButton() is replace:
                    self._queue(out)
                else:
                    self.eta.setText("Export not started: the file was kept.")

            box.finished.connect(answered)
            self.overwrite_box = box
            box.open()
            return box
        return self._queue(out)

    def _queue(self, out: str) -> ExportJob:
        s = self.session
        job = ExportJob(out, self.options(), copy.deepcopy(s.project), s.analysis)
        self.jobs.append(job)
        self.queue.addItem(f"{Path(out).name}: queued")
        self._next()
        self._job_buttons()
        return job

    # -- finished and queued jobs ------------------------------------------------
    def selected_job(self) -> ExportJob | None:
        i = self.queue.currentRow()
        if 0 <= i < len(self.jobs):
            return self.jobs[i]
        done = [j for j in self.jobs if j.status == "done"]
        return done[-1] if done else None

    def _job_buttons(self) -> None:
        job = self.selected_job()
        done = job is not None and job.status == "done" and Path(job.output).exists()
        self.btn_open.setEnabled(done)
        self.btn_show.setEnabled(done)
        i = self.queue.currentRow()
        sel = self.jobs[i] if 0 <= i < len(self.jobs) else None
        self.btn_remove.setEnabled(sel is not None and sel.status != "running")

    def open_selected(self) -> bool:
        job = self.selected_job()
        return job is not None and open_url(QUrl.fromLocalFile(job.output))

    def show_selected(self) -> bool:
        job = self.selected_job()
        return job is not None and open_url(QUrl.fromLocalFile(str(Path(job.output).parent)))

    def remove_selected(self) -> bool:
        """Drop the selected job from the list: a queued one never runs; a running one must be cancelled."""
        i = self.queue.currentRow()
        if not 0 <= i < len(self.jobs) or self.jobs[i].status == "running":
            return False
        job = self.jobs.pop(i)
        self.queue.takeItem(i)
        self.eta.setText(f"Removed {Path(job.output).name} from the queue." if job.status == "queued"
                         else f"Removed {Path(job.output).name} from the list (the file stays).")
        self._job_buttons()
        return True

    def _row(self, job: ExportJob) -> None:
        i = self.jobs.index(job)
        self.queue.item(i).setText(f"{Path(job.output).name}: {job.status}" + (f" ({job.detail})" if job.detail else ""))

    def _next(self) -> None:
        if self.current is not None:
            return
        job = next((j for j in self.jobs if j.status == "queued"), None)
        if job is None:
            self.btn_cancel.setEnabled(False)
            return
        self.current = job
        job.status, job.started = "running", time.monotonic()
        task = Task(export_job, job.project, job.analysis, job.opts, job.output, self.settings.device, name="export")
        job.task = task
        task.signals.progress.connect(while_alive(self, lambda st, d, t, j=job: self._progress(j, st, d, t)))
        task.signals.done.connect(while_alive(self, lambda r, j=job: self._done(j, "done", r)))
        task.signals.cancelled.connect(while_alive(self, lambda j=job: self._done(j, "cancelled", None)))
        task.signals.failed.connect(while_alive(self, lambda e, j=job: self._done(j, "failed", e)))
        self.btn_cancel.setEnabled(True)
        self.progress.setValue(0)
        self._row(job)
        self._job_buttons()
        self.runner.start(task)

    def _progress(self, job: ExportJob, stage: str, done: float, total: float) -> None:
        if stage != "render" or not total:
            self.eta.setText(f"{Path(job.output).name}: {stage}...")
            return
        frac = done / total
        self.progress.setValue(int(frac * 1000))
        el = time.monotonic() - job.started
        eta = el / frac * (1 - frac) if frac > 0 else 0
        self.eta.setText(f"{Path(job.output).name}: frame {int(done)}/{int(total)}, "
                         f"{el:.0f} s elapsed, about {eta:.0f} s left")

    def _done(self, job: ExportJob, status: str, payload) -> None:
        job.status = status
        if status == "done":
            job.result = payload
            job.detail = f"{payload.frames} frames in {time.monotonic() - job.started:.1f} s"
            self.progress.setValue(1000)
            self.eta.setText(f"Exported {job.output}")
        elif status == "failed":
            job.detail = message_for(payload).splitlines()[0][:200]
            self.eta.setText(f"Export failed: {job.detail}")
            from app.errors import show_error

            show_error(self.window(), payload, "Export")
        else:
            self.eta.setText("Export cancelled: nothing was written.")
            self.progress.setValue(0)
        self._row(job)
        self.current = None
        self.job_finished.emit(job)
        self._next()
        self._job_buttons()

    def cancel_current(self) -> None:
        if self.current is not None and self.current.task is not None:
            self.current.task.cancel()
            self.eta.setText("Cancelling...")

    @property
    def busy(self) -> bool:
        return self.current is not None
