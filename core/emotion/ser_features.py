"""Acoustic features for speech emotion recognition, numpy + scipy.fft only.

Frame features are computed once per recording at 100 Hz; a classifier
window (utterance in training, ~2 s sliding window at run time) is then
summarised by statistics over its speech frames. Keeping the two steps apart
makes sliding-window inference cheap: no spectrum is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 16000
HOP = 160          # 10 ms
N_FFT = 512        # 32 ms
YIN_FRAME = 1024   # 64 ms: two periods of a 70 Hz voice
BLOCK_FRAMES = 3000  # frames computed at once (30 s)
N_MELS = 40
N_MFCC = 20


@dataclass
class FrameFeatures:
    """Per-10 ms frame descriptors of one recording."""

    logmel: np.ndarray   # (T, N_MELS) dB
    mfcc: np.ndarray     # (T, N_MFCC)
    rms_db: np.ndarray   # (T,)
    centroid: np.ndarray # (T,) kHz
    rolloff: np.ndarray  # (T,) kHz
    flatness: np.ndarray # (T,) log10
    zcr: np.ndarray      # (T,)
    f0: np.ndarray       # (T,) semitones re 55 Hz, nan where unvoiced

    @property
    def n(self) -> int:
        return len(self.rms_db)


_mel_cache: dict[tuple[int, int, int], np.ndarray] = {}


def _mel_filters(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-style triangular mel filterbank (HTK mel scale), built once."""
    key = (sr, n_fft, n_mels)
    if key not in _mel_cache:
        def hz2mel(f):
            return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

        def mel2hz(m):
            return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

        freqs = np.fft.rfftfreq(n_fft, 1 / sr)
        pts = mel2hz(np.linspace(hz2mel(60.0), hz2mel(7600.0), n_mels + 2))
        fb = np.zeros((n_mels, len(freqs)), np.float32)
        for i in range(n_mels):
            lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
            up = (freqs - lo) / (c - lo)
            down = (hi - freqs) / (hi - c)
            fb[i] = np.maximum(0, np.minimum(up, down)) * (2.0 / (hi - lo))
        _mel_cache[key] = fb
    return _mel_cache[key]


def _dct_matrix(n_in: int = N_MELS, n_out: int = N_MFCC) -> np.ndarray:
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def _yin_f0(padded: np.ndarray, sr: int, first: int, stop: int) -> np.ndarray:
    """Pitch (Hz, nan if unvoiced) of frames [first, stop) by YIN.

    ``padded`` is the recording with half a YIN frame of zeros on each side,
    so frame t covers padded[t*HOP : t*HOP + 1024], exactly as librosa's
    centred call would; taking frames in blocks gives the same answer with
    memory bounded by the block, not by the narration.
    """
    seg = padded[first * HOP: (stop - 1) * HOP + YIN_FRAME]
    f0 = yin(seg, fmin=70, fmax=500, sr=sr, frame_length=YIN_FRAME, hop_length=HOP, trough_threshold=0.1)
    f0 = np.asarray(f0, np.float32)[: stop - first]
    if len(f0) < stop - first:
        f0 = np.pad(f0, (0, stop - first - len(f0)), constant_values=np.nan)
    return f0


def yin(y: np.ndarray, *, fmin: float, fmax: float, sr: int, frame_length: int, hop_length: int,
        trough_threshold: float = 0.1) -> np.ndarray:
    """F0 (Hz) per frame by YIN (de Cheveigne and Kawahara 2002), uncentred frames.

    The same arithmetic, step for step and in the same precision, as
    ``librosa.yin(..., center=False)`` of librosa 0.11, which the SER heads
    were trained with (tests/emotion/test_yin.py compares the two): numpy
    and scipy.fft only, so a render neither imports librosa (seconds of
    imports, scipy.signal among them) nor compiles its numba kernels, which
    made the first render after an install several times slower.
    """
    import scipy.fft

    y = np.asarray(y)
    n = 1 + (len(y) - frame_length) // hop_length
    if n < 1:
        return np.zeros(0)
    # frames as columns: (frame_length, n), a strided view
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(frame_length, n), strides=(y.strides[0], y.strides[0] * hop_length), writeable=False)
    min_period = int(np.floor(sr / fmax))
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 1)
    # cumulative mean normalised difference (equation 8); the autocorrelation by FFT
    n_pad = scipy.fft.next_fast_len(2 * frame_length - 1, real=True)
    spec = scipy.fft.rfft(frames, n=n_pad, axis=0)
    acf = scipy.fft.irfft(spec.real ** 2 + spec.imag ** 2, n=n_pad, axis=0)[: max_period + 1]
    d = np.square(frames)
    np.cumsum(d, out=d, axis=0)
    k = slice(1, max_period + 1)
    d[0, :] = 0
    d[k, :] = 2 * (acf[0:1, :] - acf[k, :]) - d[: k.stop - 1, :]
    numerator = d[min_period: max_period + 1, :]
    cumulative_mean = np.cumsum(d[k, :], axis=0) / np.arange(1, max_period + 1)[:, None]
    denominator = cumulative_mean[min_period - 1: max_period, :]
    cmnd = numerator / (denominator + np.finfo(denominator.dtype).tiny)
    # parabolic interpolation of each lag's optimum (0 at the ends, or beyond a bin)
    a = cmnd[2:] + cmnd[:-2] - 2 * cmnd[1:-1]
    b = (cmnd[2:] - cmnd[:-2]) / 2
    shifts = np.zeros_like(cmnd)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(np.abs(b) >= np.abs(a), 0, -b / a)
    # troughs: local minima, the first lag against the second, the last against the one before
    trough = np.zeros(cmnd.shape, bool)
    trough[1:-1] = (cmnd[1:-1] < cmnd[:-2]) & (cmnd[1:-1] <= cmnd[2:])
    trough[0] = cmnd[0] < cmnd[1]
    trough[-1] = cmnd[-1] < cmnd[-2]
    below = trough & (cmnd < trough_threshold)
    # the first trough under the threshold, else the global minimum
    period = np.argmax(below, axis=0)
    none = ~below.any(axis=0)
    period[none] = np.argmin(cmnd, axis=0)[none]
    period = min_period + period + np.take_along_axis(shifts, period[None, :], axis=0)[0]
    return sr / period


def _spectral_block(raw: np.ndarray) -> list[np.ndarray]:
    """Per-frame spectral descriptors of a block of raw (unwindowed) frames."""
    pad = N_FFT // 2
    frames = raw * np.hanning(N_FFT).astype(np.float32)[None, :]
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).astype(np.float32) + 1e-10
    freqs = np.fft.rfftfreq(N_FFT, 1 / SR).astype(np.float32)
    logmel = 10 * np.log10(power @ _mel_filters().T + 1e-10)
    mfcc = logmel @ _dct_matrix().T
    rms_db = 10 * np.log10(np.mean(raw[:, pad // 2: pad // 2 + 400] ** 2, axis=1) + 1e-10)
    total = power.sum(1)
    centroid = (power * freqs[None, :]).sum(1) / total / 1000.0
    cum = np.cumsum(power, 1)
    rolloff = freqs[np.argmax(cum >= 0.85 * total[:, None], axis=1)] / 1000.0
    flat = (np.mean(np.log(power), 1) - np.log(np.mean(power, 1))) / np.log(10)
    sign = np.signbit(raw[:, pad // 2: pad // 2 + 400])
    zcr = np.mean(sign[:, 1:] != sign[:, :-1], axis=1)
    return [a.astype(np.float32) for a in (logmel, mfcc, rms_db, centroid, rolloff, flat, zcr)]


def frame_features(samples: np.ndarray, sr: int = SR, block: int = BLOCK_FRAMES) -> FrameFeatures:
    """All 100 Hz frame descriptors of a 16 kHz mono recording.

    Computed ``block`` frames at a time (30 s by default): a whole 10-minute
    narration framed at once took over 2 GB.
    """
    x = np.asarray(samples, np.float32)
    if sr != SR:
        raise ValueError("frame_features expects 16 kHz audio")
    pad = N_FFT // 2
    xp = np.pad(x, (pad, pad), mode="reflect" if len(x) > pad else "constant")
    n = max(1, 1 + (len(xp) - N_FFT) // HOP)
    xy = x if len(x) >= YIN_FRAME else np.pad(x, (0, YIN_FRAME - len(x)))
    xy = np.pad(xy, (YIN_FRAME // 2, YIN_FRAME // 2))
    cols: list[list[np.ndarray]] = [[] for _ in range(8)]
    for first in range(0, n, block):
        stop = min(n, first + block)
        idx = np.arange(N_FFT)[None, :] + HOP * np.arange(first, stop)[:, None]
        for col, arr in zip(cols, _spectral_block(xp[idx]) + [_yin_f0(xy, sr, first, stop)]):
            col.append(arr)
    logmel, mfcc, rms_db, centroid, rolloff, flat, zcr, f0 = (np.concatenate(c) for c in cols)
    # YIN answers everywhere; keep frames that are loud enough and tonal.
    loud = rms_db > (np.percentile(rms_db, 95) - 30.0)
    tonal = flat < -1.2
    f0_st = np.where(loud & tonal & np.isfinite(f0) & (f0 > 0),
                     12 * np.log2(np.maximum(f0, 1.0) / 55.0), np.nan).astype(np.float32)
    return FrameFeatures(logmel.astype(np.float32), mfcc.astype(np.float32),
                         rms_db.astype(np.float32), centroid.astype(np.float32),
                         rolloff.astype(np.float32), flat.astype(np.float32),
                         zcr.astype(np.float32), f0_st)


def _deltas(a: np.ndarray) -> np.ndarray:
    """Regression slope over +-2 frames (the usual MFCC delta)."""
    if len(a) < 5:
        return np.zeros_like(a)
    p = np.pad(a, ((2, 2), (0, 0)), mode="edge")
    return (2 * (p[4:] - p[:-4]) + (p[3:-1] - p[1:-3])) / 10.0


def _stats(a: np.ndarray) -> np.ndarray:
    """mean, std, p10, p90 per column."""
    if len(a) == 0:
        return np.zeros(a.shape[1] * 4, np.float32)
    q = np.percentile(a, [10, 90], axis=0)
    return np.concatenate([a.mean(0), a.std(0), q[0], q[1]])


def window_vector(ff: FrameFeatures, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Summarise frames [start, stop) into one fixed-length vector.

    Statistics are taken over speech frames only (within 30 dB of the
    window's loudest frames) so leading/trailing silence does not dilute
    them; the share of speech frames and the syllable-peak rate describe
    tempo.
    """
    stop = ff.n if stop is None else min(stop, ff.n)
    sl = slice(start, max(stop, start + 1))
    rms = ff.rms_db[sl]
    peak = np.percentile(rms, 95) if len(rms) else -100.0
    act = rms > peak - 30.0
    if act.sum() < 5:
        act = np.ones_like(act)
    mf = ff.mfcc[sl]
    d = _deltas(mf)
    lm = ff.logmel[sl]
    scal = np.stack([ff.centroid[sl], ff.rolloff[sl], ff.flatness[sl], ff.zcr[sl]], 1)
    parts = [
        _stats(mf[act]),                         # 80
        np.abs(d[act]).mean(0), d[act].std(0),   # 40
        lm[act].mean(0) - lm[act].mean(),        # 40: spectral shape, level-free
        lm[act].std(0),                          # 40
        _stats(scal[act]),                       # 16
    ]
    r = rms[act]
    rd = np.diff(rms)
    parts.append(np.array([
        r.mean() - peak, r.std(), np.percentile(r, 90) - np.percentile(r, 10),
        np.abs(rd).mean() if len(rd) else 0.0, act.mean(), _peak_rate(rms, act),
    ], np.float32))
    f0 = ff.f0[sl]
    v = f0[np.isfinite(f0)]
    if len(v) >= 5:
        dv = np.diff(f0)
        dv = dv[np.isfinite(dv)]
        pv = np.array([v.mean(), v.std(), np.percentile(v, 10), np.percentile(v, 90),
                       np.percentile(v, 90) - np.percentile(v, 10),
                       np.abs(dv).mean() if len(dv) else 0.0,
                       len(v) / max(act.sum(), 1)], np.float32)
    else:
        pv = np.array([0, 0, 0, 0, 0, 0, 0], np.float32)
    parts.append(pv)
    return np.concatenate(parts).astype(np.float32)


def _peak_rate(rms: np.ndarray, act: np.ndarray) -> float:
    """Loudness peaks per second of speech: a syllable-rate proxy."""
    if len(rms) < 7:
        return 0.0
    k = np.ones(5) / 5
    s = np.convolve(rms, k, mode="same")
    pk = (s[1:-1] > s[:-2]) & (s[1:-1] >= s[2:]) & act[1:-1] & (s[1:-1] > np.percentile(s, 50))
    return float(pk.sum() / max(act.sum() / 100.0, 0.2))


FEATURE_DIM = 80 + 40 + 40 + 40 + 16 + 6 + 7
