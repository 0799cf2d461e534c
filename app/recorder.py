"""Record a narration from the microphone with sounddevice.

Without PortAudio (the library sounddevice loads) or without an input
device, ``input_status`` says why and the Record button is disabled with
that reason as its tooltip. Samples arrive on PortAudio's own thread and
are collected under a lock; the GUI only polls the level with a timer.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QVBoxLayout

from app.errors import show_error

RATE = 48000


def input_status() -> tuple[bool, str]:
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        return False, f"PortAudio is not installed ({exc.__class__.__name__}); install libportaudio2."
    try:
        sd.query_devices(kind="input")
    except Exception as exc:  # noqa: BLE001
        return False, f"no microphone found ({str(exc)[:80]})."
    return True, ""


class RecordDialog(QDialog):
    recorded = Signal(str)

    def __init__(self, out: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Record narration")
        self.out = Path(out)
        self._chunks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._level = 0.0
        self._stream = None
        self.label = QLabel("Press Start and speak.")
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.btn = QPushButton("Start")
        self.btn.clicked.connect(self.toggle)
        lay = QVBoxLayout(self)
        for w in (self.label, self.meter, self.btn):
            lay.addWidget(w)
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._poll)

    def _callback(self, indata, frames, _time, _status) -> None:
        with self._lock:
            self._chunks.append(indata[:, 0].copy())
            self._level = float(np.sqrt(np.mean(indata[:, 0] ** 2)))

    def toggle(self) -> None:
        if self._stream is None:
            try:
                import sounddevice as sd

                self._stream = sd.InputStream(samplerate=RATE, channels=1, dtype="float32", callback=self._callback)
                self._stream.start()
            except Exception as exc:  # noqa: BLE001
                self._stream = None
                show_error(self, RuntimeError(f"could not open the microphone: {exc}"))
                return
            self.btn.setText("Stop and use")
            self.timer.start()
        else:
            self.finish()

    def _poll(self) -> None:
        with self._lock:
            n = sum(len(c) for c in self._chunks)
            lvl = self._level
        self.meter.setValue(int(min(1.0, lvl * 5) * 100))
        self.label.setText(f"Recording: {n / RATE:.1f} s")

    def finish(self) -> None:
        import soundfile as sf

        self.timer.stop()
        self._stream.stop()
        self._stream.close()
        self._stream = None
        with self._lock:
            data = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        if len(data) < RATE // 2:
            self.label.setText("Too short: record at least half a second.")
            self.btn.setText("Start")
            self._chunks = []
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(self.out), data, RATE)
        self.recorded.emit(str(self.out))
        self.accept()

    def reject(self) -> None:
        if self._stream is not None:
            self.timer.stop()
            self._stream.stop()
            self._stream.close()
            self._stream = None
        super().reject()
