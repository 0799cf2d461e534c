"""Qt-free parts of the app: the waveform pyramid and curve edits."""

from __future__ import annotations

import time

import numpy as np

from app import curve_ops as ops
from app.waveform import WavePyramid
from core.emotion.curves import evaluate_keys


def _brute(x, sr, t0, t1, width):
    lo, hi = np.zeros(width), np.zeros(width)
    for j in range(width):
        a = int((t0 + (t1 - t0) * j / width) * sr)
        b = max(int((t0 + (t1 - t0) * (j + 1) / width) * sr), a + 1)
        seg = x[a:b]
        if len(seg):
            lo[j], hi[j] = seg.min(), seg.max()
    return lo, hi


def test_envelope_contains_the_true_extremes():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16000 * 7) * np.linspace(0, 1, 16000 * 7)).astype(np.float32)
    p = WavePyramid.build(x, 16000)
    for t0, t1, w in ((0, 7, 500), (1.0, 1.5, 400), (2.0, 2.01, 300), (6.5, 8.0, 200)):
        lo, hi = p.envelope(t0, t1, w)
        blo, bhi = _brute(x, 16000, t0, t1, w)
        # buckets are aligned to 64 samples, so a column may see slightly more: never less
        assert np.all(hi >= bhi - 1e-6) and np.all(lo <= blo + 1e-6)
        assert np.max(hi) == np.max(bhi[bhi != 0]) if bhi.any() else True
        assert np.all(hi[(np.arange(w) * (t1 - t0) / w + t0) > 7.01] == 0)


def test_an_hour_of_audio_draws_in_a_millisecond_or_so():
    x = np.random.default_rng(1).standard_normal(16000 * 3600).astype(np.float32) * 0.1
    t = time.perf_counter()
    p = WavePyramid.build(x, 16000)
    build = time.perf_counter() - t
    t = time.perf_counter()
    for t0 in np.linspace(0, 3500, 50):
        p.envelope(0, 3600, 1600)
        p.envelope(t0, t0 + 5, 1600)
    per_draw = (time.perf_counter() - t) / 100
    assert build < 3.0, build
    assert per_draw < 0.01, per_draw


def test_key_edits_and_reset_to_auto():
    c = ops.to_curves({})
    k1 = ops.add_key(c, "valence", 1.0, 0.5)
    ops.add_key(c, "valence", 3.0, -0.5)
    ops.add_key(c, "valence", 2.0, 5.0)            # clamped to the channel range
    assert [k.v for k in ops.keys_of(c, "valence")] == [0.5, 1.0, -0.5]
    ops.set_interp(c, "valence", [k1], "bezier")
    assert k1.out_handle[0] > 0 and ops.keys_of(c, "valence")[1].in_handle[0] < 0
    clip = ops.copy_keys(ops.keys_of(c, "valence")[:2])
    ops.paste_keys(c, "valence", clip, 5.0)
    assert [round(k.t, 3) for k in ops.keys_of(c, "valence")] == [1.0, 2.0, 3.0, 5.0, 6.0]
    doc = ops.to_doc(c)
    assert doc["kind"] == "synchrorama-emotion-curves"
    # reset 1.5..3.5 to a known guide: the range then follows it within the tolerance
    gt = np.arange(0, 8, 0.04)
    gv = 0.3 * np.sin(gt)
    ops.reset_range(c, "valence", 1.5, 3.5, gt, gv)
    ks = ops.keys_of(c, "valence")
    inside = (gt > 2.2) & (gt < 3.3)
    assert np.max(np.abs(evaluate_keys(ks, gt[inside]) - gv[inside])) < 0.03
    assert len([k for k in ks if 1.5 <= k.t <= 3.5]) < 15     # thinned, not one per sample
    # a range covering every key drops the channel: exactly auto again
    ops.reset_range(c, "valence", 0, 10, gt, gv)
    assert ops.to_doc(c) == {}


def test_painting_does_not_drain_none_references(qapp):
    """PySide6 6.12.0 dropped a reference to None per void QPainter call on
    CPython 3.11 (the app then aborted with none_dealloc); pyproject pins
    PySide6-Essentials below 6.12. 500 paints lost ~1400 references there."""
    import sys

    from PySide6.QtGui import QColor, QImage, QPainter, QPen

    img = QImage(64, 64, QImage.Format.Format_RGB32)
    before = sys.getrefcount(None)
    for _ in range(500):
        p = QPainter(img)
        p.setPen(QPen(QColor(255, 0, 0)))
        p.fillRect(0, 0, 8, 8, QColor(0, 0, 0))
        p.drawLine(0, 0, 40, 40)
        p.end()
    assert sys.getrefcount(None) - before > -100


def test_task_callbacks_stop_once_their_window_is_deleted():
    """A result queued for a window that has since closed must not call into it."""
    import shiboken6
    from PySide6.QtCore import QObject

    from app.workers import while_alive

    owner, calls = QObject(), []
    slot = while_alive(owner, lambda *a: calls.append(a))
    slot(1, "a")
    shiboken6.delete(owner)
    slot(2, "b")
    assert calls == [(1, "a")]
