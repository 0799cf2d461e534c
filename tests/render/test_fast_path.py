"""Issue 19: the fast render path makes the same pictures as the straightforward one.

The reference is ``composite(render_crop(...))``: the whole work-size crop is
warped, then the frame rebuilt at the output's resolution. ``render_frame``
(and ``frames``, which pipelines it over two threads) warps only the face's
box of the crop. Both are compared on a short render of the speed
benchmark's workload (``contact_sheet.demo_motion``: syllables, blinks, a
smile and a +-14 degree head turn and nod), on the sample portrait (whose
output is smaller than the work size) and on a large portrait (larger).
"""

from __future__ import annotations

import numpy as np
import pytest

from core.face.rig import build_rig, load_rig
from core.io.image import load_image
from core.render.contact_sheet import demo_motion
from core.render.mesh import MeshRenderer
from tests.conftest import shared

FRAMES = 16
MIN_PSNR_DB = 40.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _compare(r: MeshRenderer, monkeypatch) -> None:
    m = demo_motion(FRAMES)
    ref = [r.composite(r.render_crop(m.weights[i], m.head[i], m.gaze[i])) for i in range(FRAMES)]
    one = [r.render_frame(m.weights[i], m.head[i], m.gaze[i]) for i in range(FRAMES)]
    monkeypatch.setenv("SYNCHRORAMA_THREADS", "2")
    two = list(r.frames(m))
    assert len(two) == FRAMES
    for i in range(FRAMES):
        assert ref[i].shape == one[i].shape == two[i].shape == (r.out_h, r.out_w, 3)
        assert _psnr(one[i], ref[i]) >= MIN_PSNR_DB, (i, _psnr(one[i], ref[i]))
        # the threads only change who computes what, never the frame
        assert np.array_equal(two[i], one[i]), i
    # every frame of this workload moves the head: the comparison is not of still frames
    assert all(not np.array_equal(f, r.base) for f in ref[1:])


def test_fast_path_matches_the_reference_on_the_sample(sample_image, monkeypatch):
    r = MeshRenderer(size=512)
    r.prepare(load_rig(sample_image))
    _compare(r, monkeypatch)


def test_fast_path_matches_the_reference_on_a_large_portrait(monkeypatch):
    img = load_image(shared("portraits", "lp_s1.jpg"))
    r = MeshRenderer(size=384)
    r.prepare(build_rig(img))
    assert r.side_o > r.n          # the output is finer than the work size here
    _compare(r, monkeypatch)


def test_frames_on_one_thread_and_partial_ranges(sample_image, monkeypatch):
    r = MeshRenderer(size=256)
    r.prepare(load_rig(sample_image))
    m = demo_motion(6)
    monkeypatch.setenv("SYNCHRORAMA_THREADS", "1")
    one = list(r.frames(m, start=1, stop=5))
    monkeypatch.setenv("SYNCHRORAMA_THREADS", "2")
    two = list(r.frames(m, start=1, stop=5))
    assert len(one) == len(two) == 4
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert len(list(r.frames(m, start=5))) == 1


def test_frames_stop_early_and_report_progress(sample_image, monkeypatch):
    from core.progress import CancelToken, Cancelled

    monkeypatch.setenv("SYNCHRORAMA_THREADS", "2")
    r = MeshRenderer(size=256)
    r.prepare(load_rig(sample_image))
    m = demo_motion(8)
    seen: list[tuple[int, int]] = []
    frames = list(r.frames(m, progress=lambda stage, i, n: seen.append((i, n))))
    assert len(frames) == 8 and seen[-1] == (8, 8) and [i for i, _ in seen] == list(range(1, 9))
    cancel = CancelToken()
    got = 0
    with pytest.raises(Cancelled):
        for _ in r.frames(m, cancel=cancel):
            got += 1
            if got == 3:
                cancel.cancel()
    assert got == 3
