"""Models and Settings dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
    QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QSpinBox,
    QTableWidget, QTableWidgetItem, QVBoxLayout,
)

from core.errors import UserInputError
from core.paths import cache_dir, models_dir

from app.errors import show_error
from app.workers import Runner, Task, while_alive


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _verify_all(*, progress, cancel):
    """Hash every user model's files against its manifest (slow for big models: a worker's job)."""
    from core.models import list_models, verify

    models = list_models()
    for i, m in enumerate(models):
        cancel.check()
        verify(m)
        progress("verify", i + 1, len(models))
    return models


def _import(folder: str, *, progress, cancel):
    from core.models import import_model, list_models

    progress("import", 0, 1)
    info = import_model(folder)
    progress("import", 1, 1)
    return info, list_models()


def _delete(name: str, *, progress, cancel):
    from core.models import delete_model, list_models

    progress("delete", 0, 1)
    delete_model(name)
    return name, list_models()


class ModelsDialog(QDialog):
    """Installed user models (avatars, diffusion) and the bundled ones, with sha256 status."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(860, 460)
        self.runner = Runner(1, self)
        self.task: Task | None = None
        self.changed = False          # imported or deleted: the Export panel re-reads the avatars
        self.known: dict[tuple[str, str], str] = {}   # (name, folder) -> sha256 status from a check
        self.user = QTableWidget(0, 5)
        self.user.setHorizontalHeaderLabels(["Name", "Kind", "Size", "sha256", "Folder"])
        self.user.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.user.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.user.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.user.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bundled = QTableWidget(0, 5)
        self.bundled.setHorizontalHeaderLabels(["Bundled model", "Used for", "Licence", "Size", "Location"])
        self.bundled.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.bundled.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.btn_verify = QPushButton("Verify sha256")
        self.btn_verify.clicked.connect(self.verify)
        self.btn_import = QPushButton("Import folder...")
        self.btn_import.setToolTip("Copy a trained model folder (with manifest.json) into the store, checked")
        self.btn_import.clicked.connect(self.import_folder)
        self.btn_delete = QPushButton("Delete")
        self.btn_delete.clicked.connect(self.delete)
        self.status = QLabel(f"Store: {models_dir()}")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for b in (self.btn_verify, self.btn_import, self.btn_delete):
            row.addWidget(b)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Your models"))
        lay.addWidget(self.user, 2)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(QLabel("Shipped with the app"))
        lay.addWidget(self.bundled, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay.addWidget(close)
        self.user.itemSelectionChanged.connect(self._enable)
        self._fill_bundled()
        self.refresh()
        if self.user.rowCount():
            self.verify()           # sha256 status in the background; the table shows 'unchecked' until then

    def _enable(self) -> None:
        idle = self.task is None
        self.btn_delete.setEnabled(idle and bool(self.user.selectionModel().selectedRows()))
        self.btn_delete.setToolTip("Delete the selected model's folder" if self.user.rowCount()
                                   else "No models of your own to delete")
        self.btn_verify.setEnabled(idle and self.user.rowCount() > 0)
        self.btn_verify.setToolTip("Check every file's sha256 against the manifest" if self.user.rowCount()
                                   else "No models of your own to verify")

    def refresh(self, models=None) -> None:
        """Fill the user table (``models`` from a worker, else the manifests as they are)."""
        from core.models import list_models

        models = list_models() if models is None else models
        for m in models:      # a listing re-read from manifests keeps the statuses already checked
            if m.status == "unchecked" and (m.name, m.path) in self.known:
                m.status = self.known[(m.name, m.path)]
            elif m.status != "unchecked":
                self.known[(m.name, m.path)] = m.status
        self.user.setRowCount(len(models))
        for i, m in enumerate(models):
            for j, v in enumerate((m.name, m.kind, human(m.size), m.status, m.path)):
                self.user.setItem(i, j, QTableWidgetItem(v))
        if not models:
            self.status.setText(f"No models of your own yet (store: {models_dir()}). Import a trained avatar folder.")
        self._enable()

    def _fill_bundled(self) -> None:
        from core.models import bundled_models

        b = bundled_models()
        self.bundled.setRowCount(len(b))
        for i, m in enumerate(b):
            vals = (m.name, m.purpose, m.licence, human(m.size) if m.size else "-", m.path or "not installed")
            for j, v in enumerate(vals):
                self.bundled.setItem(i, j, QTableWidgetItem(v))

    def _run(self, task: Task, what: str, on_done) -> Task:
        self.status.setText(f"{what}...")
        for b in (self.btn_verify, self.btn_import, self.btn_delete):
            b.setEnabled(False)
        task.signals.done.connect(while_alive(self, on_done))
        task.signals.failed.connect(while_alive(self, lambda e: (self.status.setText(f"{what} failed."),
                                                                 show_error(self, e, "Models"))))
        task.signals.finished.connect(while_alive(self, self._finished))
        self.task = task
        self.runner.start(task)
        return task

    def _finished(self) -> None:
        self.task = None
        self.btn_import.setEnabled(True)
        self._enable()

    def verify(self) -> Task:
        def done(models):
            self.refresh(models)
            bad = [m.name for m in models if m.status != "ok"]
            self.status.setText(f"Verified {len(models)} model(s)" + (f"; not intact: {', '.join(bad)}" if bad else
                                                                        ": every file matches its sha256."))
        return self._run(Task(_verify_all, name="verify"), "Verifying", done)

    def import_folder(self, folder: str | None = None) -> Task | None:
        """Copy a model folder (with its manifest.json) into the store after checking every file."""
        folder = folder or QFileDialog.getExistingDirectory(self, "Model folder")
        if not folder:
            return None

        def done(res):
            info, models = res
            self.known[(info.name, info.path)] = info.status      # import_model verified the copy
            self.refresh(models)
            self.status.setText(f"Imported '{info.name}' ({info.kind}, {human(info.size)}): files {info.status}.")
            self.changed = True
        return self._run(Task(_import, str(folder), name="import"), "Importing", done)

    def selected_name(self) -> str:
        rows = self.user.selectionModel().selectedRows()
        return self.user.item(rows[0].row(), 0).text() if rows else ""

    def delete(self) -> QMessageBox | None:
        """Ask (without blocking the event loop), then delete on the worker."""
        name = self.selected_name()
        if not name:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Delete model", f"Delete the model '{name}' from disk?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("deleteModel")
        box.finished.connect(lambda _r, b=box, n=name: self._delete_answer(n, b.standardButton(b.clickedButton())))
        box.open()
        return box

    def _delete_answer(self, name: str, answer) -> None:
        if answer != QMessageBox.StandardButton.Yes:
            return

        def done(res):
            gone, models = res
            self.refresh(models)
            self.status.setText(f"Deleted '{gone}'.")
            self.changed = True
        self._run(Task(_delete, name, name="delete"), f"Deleting {name}", done)


class SettingsDialog(QDialog):
    def __init__(self, settings, parent=None, cuda: tuple[bool, str] | None = None):
        """``cuda``: the Export panel's one-off check (None = not known; torch is never imported here)."""
        super().__init__(parent)
        from app.export_panel import diffusion_status

        self.setWindowTitle("Settings")
        self.settings = settings
        self.cache = settings.cache()
        self.device = QComboBox()
        self.device.addItem("Automatic (the CUDA GPU; refuse without one)", "auto")
        self.device.addItem("CUDA GPU", "cuda")
        self.device.addItem("CPU (very slow)", "cpu")
        dif_ok, dif_why = diffusion_status()
        if not dif_ok:
            ok, why = False, "only the diffusion renderer uses a GPU."
        elif cuda is None:      # not checked yet: Export checks once the diffusion renderer is chosen
            ok, why = True, "not checked yet (Export checks when the diffusion renderer is chosen)"
        else:
            ok, why = cuda
        self.device.model().item(1).setEnabled(ok)
        self.device.model().item(1).setToolTip(why)
        self.device.setEnabled(dif_ok)
        self.device.setToolTip("Device for the diffusion renderer (the mesh renderer always uses the CPU). "
                               + ("" if dif_ok else dif_why) + ("" if ok else f" CUDA: {why}"))
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.llm_kind = QComboBox()
        for label, kind in (("Automatic (server, then Gemma, then rules)", "auto"),
                            ("OpenAI-compatible server", "openai"), ("Bundled Gemma", "gemma"),
                            ("Rules (no model)", "rules")):
            self.llm_kind.addItem(label, kind)
        self.llm_kind.setCurrentIndex(max(0, self.llm_kind.findData(settings.llm_kind)))
        self.llm_url = QLineEdit(settings.llm_url)
        self.llm_url.setToolTip("Ollama, llama.cpp server or LM Studio on this machine (loopback only)")
        self.llm_model = QLineEdit(settings.llm_model)
        self.llm_model.setPlaceholderText("server default")
        self.llm_remote = QCheckBox("Allow a server on another machine (the script is sent to it)")
        self.llm_remote.setChecked(settings.llm_allow_remote)
        self.llm_kind.currentIndexChanged.connect(self._llm_enable)
        self._llm_enable()
        self.cache_path = QLineEdit(settings.cache_root)
        self.cache_path.setPlaceholderText(str(cache_dir() / "analysis"))
        self.cache_path.setToolTip("Where analyses (alignment, emotion) are cached by content hash; "
                                   "empty = the user cache folder")
        self.cache_path.editingFinished.connect(self._cache_moved)
        self.btn_cache_browse = QPushButton("...")
        self.btn_cache_browse.setToolTip("Choose the cache folder")
        self.btn_cache_browse.clicked.connect(self.browse_cache)
        self.btn_cache_default = QPushButton("Default")
        self.btn_cache_default.setToolTip("Back to the user cache folder")
        self.btn_cache_default.clicked.connect(lambda: (self.cache_path.setText(""), self._cache_moved()))
        self.cache_label = QLabel()
        self.cache_label.setWordWrap(True)
        self.btn_clear = QPushButton("Clear cache")
        self.btn_clear.setToolTip("Delete the cached analyses in this folder; they are recomputed when needed")
        self.btn_clear.clicked.connect(self.clear_cache)
        self._cache_text()
        e = settings.export
        self.ex_size = QSpinBox()
        self.ex_size.setRange(128, 1024)
        self.ex_size.setSingleStep(64)
        self.ex_size.setValue(e.size)
        self.ex_fps = QDoubleSpinBox()
        self.ex_fps.setRange(10, 60)
        self.ex_fps.setValue(e.fps)
        self.ex_crf = QSpinBox()
        self.ex_crf.setRange(12, 35)
        self.ex_crf.setValue(e.crf)
        self.ex_max = QSpinBox()
        self.ex_max.setRange(0, 4096)
        self.ex_max.setSingleStep(128)
        self.ex_max.setSpecialValueText("portrait size")
        self.ex_max.setValue(e.max_output)

        g1 = QGroupBox("Rendering")
        f1 = QFormLayout(g1)
        f1.addRow("Device", self.device)
        g2 = QGroupBox("Scene suggestions")
        f2 = QFormLayout(g2)
        f2.addRow("Writer", self.llm_kind)
        f2.addRow("Endpoint", self.llm_url)
        f2.addRow("Model", self.llm_model)
        f2.addRow("", self.llm_remote)
        g3 = QGroupBox("Analysis cache")
        f3 = QVBoxLayout(g3)
        crow = QHBoxLayout()
        crow.addWidget(self.cache_path, 1)
        crow.addWidget(self.btn_cache_browse)
        crow.addWidget(self.btn_cache_default)
        f3.addLayout(crow)
        f3.addWidget(self.cache_label)
        f3.addWidget(self.btn_clear)
        g4 = QGroupBox("Defaults for new projects' exports")
        f4 = QFormLayout(g4)
        f4.addRow("Render size", self.ex_size)
        f4.addRow("Max output", self.ex_max)
        f4.addRow("Frame rate", self.ex_fps)
        f4.addRow("Quality (CRF)", self.ex_crf)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        for g in (g1, g2, g3, g4):
            lay.addWidget(g)
        lay.addWidget(buttons)

    def _llm_enable(self) -> None:
        server = self.llm_kind.currentData() in ("auto", "openai")
        for w in (self.llm_url, self.llm_model, self.llm_remote):
            w.setEnabled(server)
            if not server:
                w.setToolTip("Only used with 'Automatic' or 'OpenAI-compatible server'")

    def _cache_text(self) -> None:
        root = self.cache.root
        n = len(list(root.glob("*.json"))) if root.is_dir() else 0
        self.cache_label.setText(f"{root}: {human(self.cache.size_bytes())} in {n} entries")
        self.btn_clear.setEnabled(n > 0)

    def _cache_moved(self) -> None:
        from core.cache import AnalysisCache

        text = self.cache_path.text().strip()
        self.cache = AnalysisCache(root=Path(text).expanduser() if text else None)
        self._cache_text()

    def browse_cache(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Cache folder", str(self.cache.root))
        if folder:
            self.cache_path.setText(folder)
            self._cache_moved()

    def clear_cache(self) -> None:
        self.cache.clear()
        self._cache_text()

    def accept(self) -> None:
        text = self.cache_path.text().strip()
        if text:
            try:
                Path(text).expanduser().mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                show_error(self, UserInputError(f"cannot use this folder for the cache ({exc.strerror}).", text,
                                                "Pick a folder you can write to, or Default."), "Settings")
                return
        s = self.settings
        s.device = self.device.currentData()
        s.llm_kind = self.llm_kind.currentData()
        s.llm_url = self.llm_url.text().strip()
        s.llm_model = self.llm_model.text().strip()
        s.llm_allow_remote = self.llm_remote.isChecked()
        s.cache_root = str(Path(text).expanduser().resolve()) if text else ""
        s.export.size, s.export.fps = self.ex_size.value(), self.ex_fps.value()
        s.export.crf, s.export.max_output = self.ex_crf.value(), self.ex_max.value()
        s.save()
        super().accept()
