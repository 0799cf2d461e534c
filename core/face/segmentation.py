"""Person segmentation (mediapipe selfie segmentation, bundled in 0.10.21).

Why: when the head turns, the renderer moves the person layer and keeps the
background still; that needs to know which pixels are the person. The
general (square, 256 x 256) model suits portrait crops.
"""

from __future__ import annotations

import threading

import numpy as np

from core.face.native_log import quiet_native_stderr, start_quietly

_lock = threading.Lock()
_model: list = []


def _segmenter():
    with _lock:
        if not _model:
            from core.face.mp_import import import_mediapipe

            mp = import_mediapipe()

            _model.append(start_quietly(lambda: mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)))
        return _model[0]


def release_models() -> None:
    """Close the person-segmentation graph (the next use builds it again)."""
    with _lock:
        for graph in _model:
            graph.close()
        _model.clear()


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """Soft person probability (H, W) float32 in [0, 1] for an RGB uint8 image."""
    seg = _segmenter()
    with _lock, quiet_native_stderr():  # the graph is not re-entrant
        res = seg.process(np.ascontiguousarray(rgb))
    m = res.segmentation_mask
    if m is None:
        return np.zeros(rgb.shape[:2], np.float32)
    return np.clip(np.asarray(m, np.float32), 0.0, 1.0)
