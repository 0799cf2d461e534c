"""Frame-rate acoustic features of a narration, computed in bounded chunks.

Everything downstream (A2M, prosody emotion, the timeline waveform) reads
these per-video-frame series instead of raw audio. Features are computed on
30-second chunks so a one-hour narration never needs a full spectrogram in
memory; the only spectral detail kept is a coarse log-mel spectrum (40 bands
at 100 Hz in float16: 4.8 MB for ten minutes), which lets the acoustic mouth
model tell a voice from its accompaniment (docs/a2m.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.progress import CancelToken, Progress, no_progress

HOP_S = 0.01      # 100 Hz analysis rate
WIN = 512         # 32 ms window at 16 kHz
CHUNK_S = 30.0
N_MELS = 40
MEL_FMIN = 60.0   # below the lowest voice fundamental of interest
MEL_FMAX = 8000.0  # capped at the Nyquist frequency of the input


@dataclass
class AudioFeatures:
    """Per-analysis-frame (100 Hz) series; use ``at_fps`` for video frames."""

    rate: float              # frames per second of these series (100)
    rms_db: np.ndarray       # loudness in dBFS
    centroid: np.ndarray     # spectral centroid, Hz
    flatness: np.ndarray     # spectral flatness 0..1 (noisy = high)
    low_ratio: np.ndarray    # energy share below 1 kHz (rounded/open vowels)
    f0: np.ndarray           # Hz, 0 where unvoiced
    voiced: np.ndarray       # bool: speech activity (energy + periodicity)
    mid_ratio: np.ndarray | None = None  # energy share 1-3 kHz: high in open vowels, low in m/n/closures
    mel_db: np.ndarray | None = None     # (n, N_MELS) float16 log-mel band power in dB (raw FFT power, fixed reference)

    @property
    def n(self) -> int:
        return len(self.rms_db)

    def at_fps(self, series: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
        """Resample a 100 Hz series to video frames by averaging each frame's span."""
        t = (np.arange(n_frames) + 0.5) / fps
        idx = np.clip((t * self.rate).astype(int), 0, self.n - 1)
        if series.dtype == bool:
            return series[idx]
        kernel = max(1, int(round(self.rate / fps)))
        sm = np.convolve(series.astype(np.float64), np.ones(kernel) / kernel, mode="same")
        return sm[idx].astype(np.float32)


def mel_filterbank(sr: int, n_fft: int = WIN, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the HTK mel scale.

    Computed here rather than with librosa so the feature pass keeps its
    small import footprint; each filter sums power (not normalised by width).
    """
    return _mel_filterbank(int(sr), int(n_fft), int(n_mels)).copy()


@lru_cache(maxsize=8)
def _mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    def to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    def to_hz(m):
        return 700.0 * (10 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)

    fmax = min(MEL_FMAX, sr / 2)
    edges = to_hz(np.linspace(to_mel(MEL_FMIN), to_mel(fmax), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None, :]) / np.maximum(hi - mid, 1e-9)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    # a band narrower than one FFT bin would be empty: give it its nearest bin
    for i in np.flatnonzero(fb.sum(1) == 0):
        fb[i, int(np.argmin(np.abs(freqs - mid[i, 0])))] = 1.0
    return fb.astype(np.float32)


def _chunk_features(x: np.ndarray, sr: int) -> tuple[np.ndarray, ...]:
    hop = int(sr * HOP_S)
    n = max(1, 1 + (len(x) - WIN) // hop) if len(x) >= WIN else 1
    if len(x) < WIN:
        x = np.pad(x, (0, WIN - len(x)))
    idx = np.arange(WIN)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx] * np.hanning(WIN)[None, :].astype(np.float32)
    spec = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32) + 1e-9
    freqs = np.fft.rfftfreq(WIN, 1 / sr)
    power = spec ** 2
    rms = np.sqrt(np.mean((x[idx]) ** 2, axis=1) + 1e-12)
    rms_db = 20 * np.log10(rms + 1e-12)
    centroid = (power * freqs[None, :]).sum(1) / power.sum(1)
    flat = np.exp(np.mean(np.log(power), 1)) / np.mean(power, 1)
    low = power[:, freqs < 1000].sum(1) / power.sum(1)
    mid = power[:, (freqs >= 1000) & (freqs < 3000)].sum(1) / power.sum(1)
    mel = (10 * np.log10(power @ _mel_filterbank(sr, WIN, N_MELS).T + 1e-10)).astype(np.float16)
    return rms_db, centroid, flat, low, mid, mel


def _pitch(x: np.ndarray, sr: int, fmin: float = 65.0, fmax: float = 450.0,
           threshold: float = 0.15) -> np.ndarray:
    """YIN pitch per 10 ms hop, vectorised with numpy (no librosa import).

    Difference function from FFT autocorrelation and running energies, the
    cumulative-mean normalisation, the first dip under ``threshold`` (else
    the global minimum), refined by parabolic interpolation.
    """
    hop, frame = int(sr * HOP_S), 1024
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    n = 1 + (len(x) - frame) // hop
    frames = x[np.arange(frame)[None, :] + hop * np.arange(n)[:, None]].astype(np.float64)
    tmin, tmax = int(sr / fmax), min(int(sr / fmin), frame // 2)
    w = frame - tmax  # integration window
    spec = np.fft.rfft(frames, 2 * frame, axis=1)
    head = np.fft.rfft(frames[:, :w], 2 * frame, axis=1)
    ac = np.fft.irfft(np.conj(head) * spec, axis=1)[:, : tmax + 1]  # sum_j x_j x_{j+t}, j < w
    sq = np.concatenate([np.zeros((n, 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    e0 = sq[:, w][:, None]
    lags = np.arange(tmax + 1)
    et = sq[:, lags + w] - sq[:, lags]
    d = np.maximum(e0 + et - 2 * ac, 0)
    cm = np.cumsum(d[:, 1:], axis=1) / np.arange(1, tmax + 1)
    dn = np.ones_like(d)
    dn[:, 1:] = d[:, 1:] / np.maximum(cm, 1e-12)
    band = dn[:, tmin: tmax]
    below = band < threshold
    first = np.where(below.any(1), below.argmax(1), band.argmin(1))
    # walk to the bottom of the first dip
    idx = first + tmin
    for _ in range(8):
        nxt = np.minimum(idx + 1, tmax)
        better = dn[np.arange(n), nxt] < dn[np.arange(n), idx]
        idx = np.where(better, nxt, idx)
    a, b, c = (dn[np.arange(n), np.clip(idx + k, 1, tmax)] for k in (-1, 0, 1))
    denom = a - 2 * b + c
    safe = np.abs(denom) > 1e-12
    shift = np.where(safe, 0.5 * (a - c) / np.where(safe, denom, 1.0), 0.0)
    period = idx + np.clip(shift, -1, 1)
    f0 = sr / np.maximum(period, 1)
    f0[dn[np.arange(n), idx] > 0.5] = 0.0  # aperiodic
    # centre frames on the 10 ms grid used by the other features (offset frame/2 - WIN/2)
    pad = (frame - WIN) // 2 // hop
    return np.concatenate([np.full(pad, f0[0] if n else 0.0), f0]).astype(np.float32)


def analyse_audio(samples: np.ndarray, sr: int, *, progress: Progress = no_progress,
                  cancel: CancelToken | None = None) -> AudioFeatures:
    """Compute loudness, spectral shape, pitch and voice activity."""
    hop = int(sr * HOP_S)
    chunk = int(CHUNK_S * sr)
    parts: list[tuple[np.ndarray, ...]] = []
    total = max(1, len(samples))
    for start in range(0, len(samples), chunk):
        if cancel:
            cancel.check()
        seg = samples[start:start + chunk + WIN - hop]
        feats = _chunk_features(seg, sr)
        n_keep = min(len(feats[0]), int(np.ceil(min(chunk, len(samples) - start) / hop)))
        f0 = _pitch(seg, sr)[:n_keep]
        f0 = np.pad(f0, (0, n_keep - len(f0)), constant_values=0)
        parts.append(tuple(f[:n_keep] for f in feats) + (f0,))
        progress("audio features", min(start + chunk, total), total)
    rms_db, centroid, flat, low, mid, mel, f0 = (np.concatenate([p[i] for p in parts]) for i in range(7))
    voiced = voice_activity(rms_db, flat)
    f0 = np.where(voiced & (flat < 0.3), f0, 0).astype(np.float32)
    return AudioFeatures(rate=1 / HOP_S, rms_db=rms_db.astype(np.float32),
                         centroid=centroid.astype(np.float32), flatness=flat.astype(np.float32),
                         low_ratio=low.astype(np.float32), f0=f0, voiced=voiced,
                         mid_ratio=mid.astype(np.float32), mel_db=mel)


def voice_activity(rms_db: np.ndarray, flatness: np.ndarray) -> np.ndarray:
    """Energy VAD relative to the recording's own noise floor and peak.

    Threshold sits 35% of the way from the noise floor (10th percentile) to
    the speech level (95th percentile); short gaps (<150 ms) are bridged and
    short blips (<60 ms) dropped so the mouth does not chatter.
    """
    floor = np.percentile(rms_db, 10)
    peak = np.percentile(rms_db, 95)
    thr = floor + 0.35 * max(peak - floor, 6.0)
    v = rms_db > thr
    v = _close_gaps(v, 15)
    v = ~_close_gaps(~v, 6)
    return v


def _close_gaps(mask: np.ndarray, max_len: int) -> np.ndarray:
    """Set runs of False shorter than max_len (between Trues) to True."""
    out = mask.copy()
    n = len(mask)
    i = 0
    while i < n:
        if not mask[i]:
            j = i
            while j < n and not mask[j]:
                j += 1
            if i > 0 and j < n and (j - i) < max_len:
                out[i:j] = True
            i = j
        else:
            i += 1
    return out
