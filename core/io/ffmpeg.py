"""Locate the ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from typing import Any, Callable


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


def dies_with_parent() -> dict[str, Any]:
    """Popen keyword arguments that make a long-running ffmpeg die with this process.

    Without them a ``kill -9`` of the app or CLI leaves the encoder running and
    finishing a part file nobody will rename. On Linux the child asks the
    kernel for SIGKILL when its parent thread exits (PR_SET_PDEATHSIG), so the
    Popen must be made by the thread that also waits for it. Elsewhere there
    is no such call: nothing is added (Windows keeps working as before).
    """
    if not sys.platform.startswith("linux"):
        return {}
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl   # looked up here, not in the forked child
    except (OSError, AttributeError):
        return {}
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def arm() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:   # the parent died before the request was armed
            os._exit(1)

    preexec: Callable[[], None] = arm
    return {"preexec_fn": preexec}
