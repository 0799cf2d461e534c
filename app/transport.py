"""Playhead, playback clock and audio output shared by every time-based view.

``TimeView`` is the visible span (left edge + pixels per second) the
timeline and the curve editor share, so they zoom and scroll together.
``Transport`` owns the playhead: play/pause (space), J/K/L shuttle, frame
steps, scrubbing. Playback follows the wall clock from the moment the audio
started, so picture and sound stay in sync even when a preview frame is late.
Audio goes through sounddevice when PortAudio and an output device exist;
otherwise playback is silent and ``audio_note`` says why.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger("synchrorama.app")


class TimeView(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.t0 = 0.0
        self.pps = 80.0
        self.duration = 0.0

    def x_of(self, t: float) -> float:
        return (t - self.t0) * self.pps

    def t_of(self, x: float) -> float:
        return self.t0 + x / self.pps

    def set(self, t0: float | None = None, pps: float | None = None) -> None:
        if pps is not None:
            self.pps = float(np.clip(pps, 2.0, 4000.0))
        if t0 is not None:
            self.t0 = float(max(0.0, min(t0, max(self.duration - 1.0, 0.0))))
        self.changed.emit()

    def zoom(self, factor: float, anchor_t: float) -> None:
        """Zoom keeping ``anchor_t`` under the same pixel."""
        x = self.x_of(anchor_t)
        self.pps = float(np.clip(self.pps * factor, 2.0, 4000.0))
        self.set(t0=anchor_t - x / self.pps)

    def fit(self, width: int) -> None:
        if self.duration > 0 and width > 0:
            self.set(t0=0.0, pps=width / self.duration)


def _sounddevice():
    """The sounddevice module, or the reason it cannot be used here."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # OSError: PortAudio library missing
        return None, f"no audio output: PortAudio is not installed ({exc.__class__.__name__})."
    try:
        sd.query_devices(kind="output")
    except Exception as exc:  # noqa: BLE001 - any PortAudio failure means no sound
        return None, f"no audio output device ({str(exc)[:80]})."
    return sd, ""


class AudioOut:
    """Plays a span of the narration; silent with a note when it cannot."""

    def __init__(self) -> None:
        self._sd, self.note = _sounddevice()

    @property
    def available(self) -> bool:
        return self._sd is not None

    def play(self, samples: np.ndarray, sr: int, start: float, seconds: float | None = None) -> None:
        if self._sd is None:
            return
        a = int(max(0.0, start) * sr)
        b = len(samples) if seconds is None else min(len(samples), a + int(seconds * sr))
        if b <= a:
            return
        try:
            self._sd.play(samples[a:b], sr)
        except Exception as exc:  # noqa: BLE001
            self.note = f"audio playback failed: {str(exc)[:80]}"
            self._sd = None

    def stop(self) -> None:
        if self._sd is not None:
            try:
                self._sd.stop()
            except Exception:  # noqa: BLE001
                pass


class Transport(QObject):
    position_changed = Signal(float)
    state_changed = Signal()

    RATES = (1.0, 2.0, 4.0)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.position = 0.0
        self.duration = 0.0
        self.fps = 25.0
        self.rate = 0.0            # 0 = paused; negative = reverse
        self.samples: np.ndarray | None = None
        self.sr = 16000
        self.audio = AudioOut()
        self._timer = QTimer(self)
        self._timer.setInterval(15)
        self._timer.timeout.connect(self._tick)
        self._t_wall = 0.0
        self._t_pos = 0.0

    @property
    def playing(self) -> bool:
        return self.rate != 0.0

    def set_media(self, samples: np.ndarray | None, sr: int, duration: float, fps: float) -> None:
        self.stop()
        self.samples, self.sr, self.duration, self.fps = samples, sr, duration, fps
        self.seek(min(self.position, duration))

    def seek(self, t: float, scrub: bool = False) -> None:
        t = float(np.clip(t, 0.0, max(self.duration, 0.0)))
        self.position = t
        if self.playing:
            self._restart_clock()
        elif scrub and self.samples is not None:
            self.audio.play(self.samples, self.sr, t, 0.08)  # a short grain under the cursor
        self.position_changed.emit(t)

    def frame(self) -> int:
        return int(min(self.position * self.fps, max(self.duration * self.fps - 1, 0)))

    def step(self, frames: int) -> None:
        self.pause()
        self.seek((self.frame() + frames + 0.5) / self.fps)

    def _restart_clock(self) -> None:
        self._t_wall, self._t_pos = time.monotonic(), self.position
        self.audio.stop()
        if self.rate == 1.0 and self.samples is not None:
            self.audio.play(self.samples, self.sr, self.position)

    def play(self, rate: float = 1.0) -> None:
        if self.duration <= 0:
            return
        if rate > 0 and self.position >= self.duration - 1e-3:
            self.position = 0.0
        self.rate = rate
        self._restart_clock()
        self._timer.start()
        self.state_changed.emit()

    def pause(self) -> None:
        if self.rate != 0.0:
            self.rate = 0.0
            self._timer.stop()
            self.audio.stop()
            self.state_changed.emit()

    stop = pause

    def toggle(self) -> None:
        self.pause() if self.playing else self.play(1.0)

    def shuttle(self, direction: int) -> None:
        """J (-1) / L (+1): start, or go faster in the same direction; K (0) pauses."""
        if direction == 0:
            self.pause()
            return
        speed = abs(self.rate) if self.rate * direction > 0 else 0.0
        nxt = next((r for r in self.RATES if r > speed), self.RATES[-1])
        self.play(direction * nxt)

    def _tick(self) -> None:
        t = self._t_pos + (time.monotonic() - self._t_wall) * self.rate
        if t >= self.duration or t <= 0.0:
            t = float(np.clip(t, 0.0, self.duration))
            self.position = t
            self.pause()
        self.position = t
        self.position_changed.emit(t)
