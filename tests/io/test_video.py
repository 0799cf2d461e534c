from __future__ import annotations

import numpy as np
import pytest

from core.errors import Cancelled
from core.io.video import ExportSettings, Mp4Writer, iter_frames, probe


def _frames(n, w=64, h=48):
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, : (i * 3) % w] = (200, 100, 50)
        yield f


def test_writer_muxes_h264_aac_with_narration_duration(tmp_path, short_audio):
    out = tmp_path / "clip.mp4"
    with Mp4Writer(out, 64, 48, short_audio, ExportSettings(fps=25)) as w:
        for f in _frames(75):
            w.write(f)
    info = probe(out)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert info.fps == 25 and info.n_frames == 75
    assert abs(info.duration - 3.0) < 0.1
    assert not list(tmp_path.glob(".*part*")), "temporary files left behind"
    frames = list(iter_frames(out))
    assert len(frames) == 75 and frames[0].shape == (48, 64, 3)


def test_failed_export_leaves_no_file(tmp_path):
    out = tmp_path / "never.mp4"
    with pytest.raises(Cancelled):
        with Mp4Writer(out, 64, 48, None) as w:
            for i, f in enumerate(_frames(10)):
                w.write(f)
                if i == 4:
                    raise Cancelled()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_cancelled_export(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous export")
    with pytest.raises(Cancelled):
        with Mp4Writer(out, 64, 48, None) as w:
            w.write(next(_frames(1)))
            raise Cancelled()
    assert out.read_bytes() == b"previous export"


def test_odd_sizes_are_refused():
    with pytest.raises(ValueError):
        Mp4Writer("x.mp4", 63, 48, None)
