"""Locate the ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import os
import subprocess


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    override = os.environ.get("SYNCHRORAMA_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
                          capture_output=True, **kw)
