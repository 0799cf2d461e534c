"""Record a narration from the microphone with sounddevice.

Without PortAudio (the library sounddevice loads) or without an input
device, ``input_status`` says why and the Record button is disabled with
that reason as its tooltip. Samples arrive on PortAudio's own thread and
are collected under a lock; the GUI only polls the level with a timer.
Stopping writes a 16-bit WAV beside the project (or in the user data
folder for a project never saved) through a temporary file that is renamed
into place, on a worker thread, and then the WAV becomes the narration.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QPushButton, QVBoxLayout

from core.errors import UserInputError
from core.paths import data_dir

from app.errors import show_error
from app.workers import Runner, Task

RATE = 48000
MIN_SECONDS = 0.5


def input_status() -> tuple[bool, str]:
    """(usable, why not): PortAudio present and at least one input device."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        return False, f"PortAudio is not installed ({exc.__class__.__name__}); install libportaudio2."
    try:
        sd.query_devices(kind="input")
    except Exception as exc:  # noqa: BLE001 - sounddevice raises its own PortAudioError / ValueError
        return False, f"no microphone found ({str(exc)[:80]})."
    return True, ""


def recording_path(project_path: str, name: str) -> Path:
    """Where a new recording goes: beside the project file, else the user data folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if project_path:
        p = Path(project_path)
        return p.parent / f"{p.stem}-narration-{stamp}.wav"
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip()) or "untitled"
    return data_dir() / "recordings" / f"{slug}-narration-{stamp}.wav"


def save_wav(samples: np.ndarray, rate: int, out: str | Path, *, progress=None, cancel=None) -> str:
    """Write mono float samples as 16-bit PCM atomically (a crash never leaves half a WAV)."""
    import soundfile as sf

    from core.io.files import atomic_path

    out = Path(out)
    if progress:
        progress("save", 0, 1)
    try:
        with atomic_path(out, suffix=".wav.part") as tmp:
            sf.write(str(tmp), np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    except OSError as exc:
        raise UserInputError(f"could not save the recording ({exc.strerror or exc}).", out,
                             "Save the project somewhere you can write to, then record again.") from None
    return str(out)


class Recorder:
    """One microphone take: PortAudio's callback appends blocks; ``stop`` returns them joined."""

    def __init__(self, rate: int = RATE):
        self.rate = rate
        self._chunks: list[np.ndarray] = []
        self._n = 0
        self._level = 0.0
        self._lock = threading.Lock()
        self._stream = None

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _callback(self, indata, frames, _time, _status) -> None:
        block = np.asarray(indata, dtype=np.float32)[:, 0].copy()
        with self._lock:
            self._chunks.append(block)
            self._n += len(block)
            self._level = float(np.sqrt(np.mean(block ** 2))) if len(block) else 0.0

    def start(self) -> None:
        import sounddevice as sd

        with self._lock:
            self._chunks, self._n, self._level = [], 0, 0.0
        stream = sd.InputStream(samplerate=self.rate, channels=1, dtype="float32", callback=self._callback)
        stream.start()
        self._stream = stream

    def snapshot(self) -> tuple[float, float]:
        """(seconds so far, RMS level of the latest block)."""
        with self._lock:
            return self._n / self.rate, self._level

    def stop(self) -> np.ndarray:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()
        with self._lock:
            data = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            self._chunks = []
        return data


class RecordDialog(QDialog):
    """Start / Stop and use / Cancel, with a level meter; emits the saved WAV's path."""

    recorded = Signal(str)

    def __init__(self, out: Path, runner: Runner, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Record narration")
        self.out = Path(out)
        self.runner = runner
        self.rec = Recorder()
        self.saving: Task | None = None
        self.label = QLabel(f"Press Start and speak. The take is saved as {self.out}")
        self.label.setWordWrap(True)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setFormat("level")
        self.btn = QPushButton("Start")
        self.btn.clicked.connect(self.toggle)
        cancel = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        cancel.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        for w in (self.label, self.meter, self.btn, cancel):
            lay.addWidget(w)
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._poll)

    def toggle(self) -> None:
        if not self.rec.running:
            try:
                self.rec.start()
            except Exception as exc:  # noqa: BLE001 - PortAudio errors vary by platform
                show_error(self, UserInputError(f"could not open the microphone ({exc}).", None,
                                                "Check that it is plugged in and not used by another program."))
                return
            self.btn.setText("Stop and use")
            self.timer.start()
        else:
            self.finish()

    def _poll(self) -> None:
        secs, lvl = self.rec.snapshot()
        self.meter.setValue(int(min(1.0, lvl * 5) * 100))
        self.label.setText(f"Recording: {secs:.1f} s")

    def finish(self) -> Task | None:
        """Stop; a take of at least MIN_SECONDS is saved on a worker, then emitted."""
        self.timer.stop()
        data = self.rec.stop()
        if len(data) < MIN_SECONDS * RATE:
            self.label.setText(f"Too short: record at least {MIN_SECONDS:g} s.")
            self.btn.setText("Start")
            return None
        self.btn.setEnabled(False)
        self.btn.setToolTip("Saving the take...")
        self.label.setText(f"Saving {len(data) / RATE:.1f} s...")
        task = Task(save_wav, data, RATE, self.out, name="save recording")
        self.saving = task
        task.signals.done.connect(self._saved)
        task.signals.failed.connect(self._save_failed)
        self.runner.start(task)
        return task

    def _saved(self, path: str) -> None:
        self.saving = None
        self.recorded.emit(path)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self.saving = None
        self.btn.setEnabled(True)
        self.btn.setText("Start")
        self.label.setText("The take could not be saved.")
        show_error(self, exc, "Record")

    def reject(self) -> None:
        self.timer.stop()
        if self.rec.running:
            self.rec.stop()
        super().reject()
