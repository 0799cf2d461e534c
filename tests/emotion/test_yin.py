"""Issue 19: the SER pitch track is librosa's YIN, computed without importing librosa.

``ser_features.yin`` repeats ``librosa.yin(..., center=False)`` step for step
(the SER heads were trained on librosa's pitch); a render no longer imports
librosa, numba or scipy.signal for it.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.emotion.ser_features import HOP, YIN_FRAME, frame_features, yin

ARGS = dict(fmin=70, fmax=500, sr=16000, frame_length=YIN_FRAME, hop_length=HOP)


def _signals():
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    glide = np.sin(2 * np.pi * (110 + 60 * t) * t) * (0.3 + 0.2 * np.sin(2 * np.pi * 3 * t))
    speechy = (glide + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    speechy[20000:26000] = 0.0   # a silent stretch: no trough under the threshold there
    return {"glide": speechy, "noise": rng.standard_normal(20000).astype(np.float32),
            "one frame": speechy[:YIN_FRAME], "float64": speechy[:30000].astype(np.float64)}


@pytest.mark.parametrize("name", list(_signals()))
def test_yin_is_librosas_to_the_bit(name):
    librosa = pytest.importorskip("librosa")
    x = _signals()[name]
    ref = librosa.yin(x, trough_threshold=0.1, center=False, **ARGS)
    got = yin(x, trough_threshold=0.1, **ARGS)
    assert got.shape == ref.shape
    assert np.array_equal(got, ref, equal_nan=True)


def test_yin_finds_a_known_pitch():
    t = np.arange(16000) / 16000
    got = yin(np.sin(2 * np.pi * 200 * t).astype(np.float32), **ARGS)
    assert np.allclose(got, 200, rtol=0.01)
    assert len(yin(np.zeros(YIN_FRAME - 1, np.float32), **ARGS)) == 0


def test_frame_features_do_not_import_librosa():
    code = ("import sys, numpy as np; from core.emotion.ser_features import frame_features; "
            "frame_features(np.random.default_rng(0).standard_normal(32000).astype(np.float32)); "
            "print(sorted(m for m in ('librosa', 'numba', 'scipy.signal') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert frame_features(np.zeros(8000, np.float32)).n > 0
