"""Log-mel bands in AudioFeatures: shape, dtype, chunk seams, and that they see the spectrum.

The acoustic mouth model reads them to tell a voice from its accompaniment;
they must stay at the features' 100 Hz rate and cheap (float16) for long
narrations.
"""

from __future__ import annotations

import numpy as np

from core.speech import features as F


def _tone(freq: float, seconds: float, sr: int = 16000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mel_bands_shape_dtype_and_rate():
    x = _tone(440.0, 2.0)
    feat = F.analyse_audio(x, 16000)
    assert feat.mel_db is not None
    assert feat.mel_db.shape == (feat.n, F.N_MELS)
    assert feat.mel_db.dtype == np.float16
    assert np.isfinite(feat.mel_db.astype(np.float32)).all()
    # 10 minutes of features stay small: 60000 frames x 40 bands x 2 bytes
    assert 60000 * F.N_MELS * feat.mel_db.itemsize <= 5_000_000


def test_mel_band_peaks_at_the_tone():
    fb = F.mel_filterbank(16000)
    assert fb.shape == (F.N_MELS, F.WIN // 2 + 1)
    assert (fb.sum(1) > 0).all()                        # no empty band
    for freq in (200.0, 1000.0, 3000.0):
        feat = F.analyse_audio(_tone(freq, 1.0), 16000)
        band = int(np.argmax(feat.mel_db[20:-20].astype(np.float32).mean(0)))
        centre = int(np.argmax(fb[:, int(round(freq / (16000 / F.WIN)))]))
        assert abs(band - centre) <= 1, (freq, band, centre)


def test_mel_bands_continue_across_the_30s_chunks():
    """Computed per 30-s chunk; the seam must not show (same values as one pass)."""
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(int(16000 * 31.0))).astype(np.float32)
    feat = F.analyse_audio(x, 16000)
    assert feat.mel_db.shape[0] == feat.n == len(feat.rms_db)
    whole = F._chunk_features(x, 16000)[5]
    n = min(len(whole), feat.n)
    np.testing.assert_allclose(feat.mel_db[:n].astype(np.float32), whole[:n].astype(np.float32), atol=0.05)


def test_louder_audio_raises_every_band_by_the_gain():
    x = _tone(700.0, 1.0) + _tone(2500.0, 1.0, amp=0.1)
    a = F.analyse_audio(x, 16000).mel_db.astype(np.float32)
    b = F.analyse_audio(x * 0.5, 16000).mel_db.astype(np.float32)
    strong = a > a.max() - 30
    np.testing.assert_allclose((a - b)[strong], 20 * np.log10(2), atol=0.1)
