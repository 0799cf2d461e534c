"""Models and Settings dialogs."""

from __future__ import annotations

import importlib.util

from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
    QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QSpinBox,
    QTableWidget, QTableWidgetItem, QVBoxLayout,
)

from core.paths import cache_dir, models_dir

from app.errors import show_error
from app.workers import Runner, Task


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _verify_all(*, progress, cancel):
    from core.models import list_models, verify

    models = list_models()
    for i, m in enumerate(models):
        cancel.check()
        verify(m)
        progress("verify", i + 1, len(models))
    return models


def _import(folder: str, *, progress, cancel):
    from core.models import import_model

    progress("import", 0, 1)
    return import_model(folder)


class ModelsDialog(QDialog):
    """Installed user models (avatars, diffusion) and the bundled ones, with sha256 status."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(860, 460)
        self.runner = Runner(1, self)
        self.user = QTableWidget(0, 5)
        self.user.setHorizontalHeaderLabels(["Name", "Kind", "Size", "sha256", "Folder"])
        self.user.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.user.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
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
        self.refresh()

    def _enable(self) -> None:
        self.btn_delete.setEnabled(bool(self.user.selectionModel().selectedRows()))
        self.btn_verify.setEnabled(self.user.rowCount() > 0)

    def refresh(self, models=None) -> None:
        from core.models import bundled_models, list_models

        models = list_models() if models is None else models
        self.user.setRowCount(len(models))
        for i, m in enumerate(models):
            for j, v in enumerate((m.name, m.kind, human(m.size), m.status, m.path)):
                self.user.setItem(i, j, QTableWidgetItem(v))
        b = bundled_models()
        self.bundled.setRowCount(len(b))
        for i, m in enumerate(b):
            vals = (m.name, m.purpose, m.licence, human(m.size) if m.size else "-", m.path or "not installed")
            for j, v in enumerate(vals):
                self.bundled.setItem(i, j, QTableWidgetItem(v))
        if not models:
            self.status.setText(f"No models of your own yet (store: {models_dir()}). Import a trained avatar folder.")
        self._enable()

    def _run(self, task: Task, what: str) -> None:
        self.status.setText(f"{what}...")
        task.signals.done.connect(lambda r: self.refresh(r if isinstance(r, list) else None))
        task.signals.done.connect(lambda _r: self.status.setText(f"{what}: done."))
        task.signals.failed.connect(lambda e: (self.status.setText(f"{what} failed."), show_error(self, e, "Models")))
        self.runner.start(task)

    def verify(self) -> None:
        self._run(Task(_verify_all, name="verify"), "Verifying")

    def import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder")
        if folder:
            self._run(Task(_import, folder, name="import"), "Importing")

    def delete(self) -> None:
        from core.models import delete_model

        rows = self.user.selectionModel().selectedRows()
        if not rows:
            return
        name = self.user.item(rows[0].row(), 0).text()
        if QMessageBox.question(self, "Delete model", f"Delete the model '{name}' from disk?") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_model(name)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, "Models")
        self.refresh()


def cuda_status() -> tuple[bool, str]:
    """CUDA is offered only where torch is installed and sees a GPU."""
    if importlib.util.find_spec("torch") is None:
        return False, "torch is not installed (only the diffusion renderer uses it)."
    try:
        import torch

        if torch.cuda.is_available():
            return True, torch.cuda.get_device_name(0)
        return False, "torch sees no CUDA GPU on this machine."
    except Exception as exc:  # noqa: BLE001
        return False, f"torch failed to load ({exc.__class__.__name__})."


class SettingsDialog(QDialog):
    def __init__(self, settings, parent=None):
        super().__init__(parent)
        from app.export_panel import diffusion_status
        from core.cache import AnalysisCache

        self.setWindowTitle("Settings")
        self.settings = settings
        self.cache = AnalysisCache()
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        self.device.addItem("CUDA GPU", "cuda")
        dif_ok, dif_why = diffusion_status()
        # importing torch takes seconds: only ask when the diffusion renderer exists
        ok, why = cuda_status() if dif_ok else (False, "only the diffusion renderer uses a GPU.")
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
        self.cache_label = QLabel()
        self.cache_label.setWordWrap(True)
        self.btn_clear = QPushButton("Clear cache")
        self.btn_clear.setToolTip("Delete cached analyses; they are recomputed when needed")
        self.btn_clear.clicked.connect(self.clear_cache)
        self.cache_label.setToolTip("Set SYNCHRORAMA_HOME before starting the app to keep caches, models and logs "
                                    "in another folder")
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
        g3 = QGroupBox("Analysis cache")
        f3 = QVBoxLayout(g3)
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

    def _cache_text(self) -> None:
        self.cache_label.setText(f"{self.cache.root}\n{human(self.cache.size_bytes())} in "
                                 f"{len(list(self.cache.root.glob('*.json'))) if self.cache.root.exists() else 0} "
                                 f"entries (user cache: {cache_dir()})")

    def clear_cache(self) -> None:
        self.cache.clear()
        self._cache_text()

    def accept(self) -> None:
        s = self.settings
        s.device = self.device.currentData()
        s.llm_kind = self.llm_kind.currentData()
        s.llm_url = self.llm_url.text().strip()
        s.llm_model = self.llm_model.text().strip()
        s.export.size, s.export.fps = self.ex_size.value(), self.ex_fps.value()
        s.export.crf, s.export.max_output = self.ex_crf.value(), self.ex_max.value()
        s.save()
        super().accept()
