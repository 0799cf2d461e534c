"""Models held in memory by module-level caches, and one call that lets them all go.

Each loader keeps its model for the life of the process, since loading one
costs 0.1-1 s. A long-lived process that analyses only now and then (the
studio's analysis helper) holds 300 MB of them between jobs, while the user
edits curves that need none; ``release_models`` drops them, and the next job
loads what it needs again. Only modules already imported are touched: a
model that was never loaded is not imported here to be released.
"""

from __future__ import annotations

import gc
import sys

# modules whose ``release_models()`` drops the models they hold
HOLDERS = ("core.face.rig", "core.face.segmentation", "core.face.expression", "core.face.identity",
           "core.speech.timing", "core.emotion.ser", "core.scene.encoder")
# the ones only the analysis uses: a render lets these go once its tracks exist (the
# renderer's own preparation, which may still be running, uses the face mesh, the
# person mask and the identity embedder)
ANALYSIS_HOLDERS = ("core.face.expression", "core.speech.timing", "core.emotion.ser", "core.scene.encoder")


def release_models(holders: tuple[str, ...] = HOLDERS) -> list[str]:
    """Drop the loaded models of ``holders`` (all by default), collect, and hand freed
    heap back to the system; returns the modules asked."""
    asked = []
    for name in holders:
        mod = sys.modules.get(name)
        if mod is not None:
            mod.release_models()
            asked.append(name)
    gc.collect()
    _trim_heap()
    return asked


def _trim_heap() -> None:
    """glibc keeps freed memory in its arenas; malloc_trim returns it (Linux only, a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass   # not glibc (musl): nothing to trim
