"""Face identity distance with dlib's ResNet embedding (128-d).

The weights come from the ``face_recognition_models`` package (CC0 data in
dlib's own format), located by path (importing the package needs
pkg_resources) and checked by sha256 before dlib reads them. Distances of
the same person are typically < 0.6; renders that keep identity well stay
under 0.35-0.4.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from core.errors import UserInputError

SHAPE_5 = ("shape_predictor_5_face_landmarks.dat",
           "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888")
RESNET = ("dlib_face_recognition_resnet_model_v1.dat",
          "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30")


def model_files() -> tuple[Path, Path]:
    """(shape predictor, ResNet) paths, both verified by sha256."""
    from core.models import verified_file

    from core.models import package_folder

    folder = package_folder("face_recognition_models")
    if folder is None:
        raise UserInputError("the identity model (package 'face_recognition_models') is not installed.",
                             None, "Reinstall SynchroRaMa Studio.")
    base = folder / "models"
    return (verified_file(base / SHAPE_5[0], SHAPE_5[1], "face shape predictor"),
            verified_file(base / RESNET[0], RESNET[1], "face embedding model"))


_lock = threading.Lock()
_run_lock = threading.RLock()
_models: tuple | None = None


def _dlib_models():
    global _models
    with _lock:
        if _models is None:
            import dlib

            sp, net = model_files()
            _models = (dlib.get_frontal_face_detector(), dlib.shape_predictor(str(sp)),
                       dlib.face_recognition_model_v1(str(net)))
        return _models


def release_models() -> None:
    """Drop the dlib models (read again on next use; an embedder already made keeps its own)."""
    global _models
    with _lock:
        _models = None


class FaceEmbedder:
    """``embed(rgb, box=None) -> (128,)``; box (x0, y0, x1, y1) narrows the search to one face."""

    def __init__(self) -> None:
        self.detector, self.shape, self.net = _dlib_models()

    def _rect(self, rgb: np.ndarray, box):
        import dlib

        h, w = rgb.shape[:2]
        if box is None:
            found = list(self.detector(rgb, 1))
            if not found:
                lm = _mediapipe_box(rgb)
                if lm is None:
                    raise UserInputError("no face found for the identity check.", None,
                                         "Use an image with one clearly visible face.")
                return self._rect(rgb, lm)
            return max(found, key=lambda r: r.width() * r.height())
        x0, y0, x1, y1 = (float(v) for v in box)
        # look for dlib's own box inside a margin around the given one (its
        # shape predictor was trained on its detector's boxes)
        m = 0.25 * max(x1 - x0, y1 - y0)
        cx0, cy0 = int(max(0, x0 - m)), int(max(0, y0 - m))
        cx1, cy1 = int(min(w, x1 + m)), int(min(h, y1 + m))
        crop = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1])
        found = list(self.detector(crop, 1 if max(crop.shape[:2]) < 400 else 0)) if crop.size else []
        if found:
            r = max(found, key=lambda r: r.width() * r.height())
            return dlib.rectangle(r.left() + cx0, r.top() + cy0, r.right() + cx0, r.bottom() + cy0)
        # fall back to the landmark box shrunk to roughly dlib's framing (brows to chin)
        bw, bh = x1 - x0, y1 - y0
        return dlib.rectangle(int(x0 + 0.1 * bw), int(y0 + 0.25 * bh), int(x1 - 0.1 * bw), int(y1))

    def embed(self, rgb: np.ndarray, box=None) -> np.ndarray:
        """The face's 128-d embedding; one call at a time in the process (dlib's models are shared
        and not safe to run from two threads: the studio's preview and export prepare renderers,
        each measuring identity, at the same time)."""
        img = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
        with _run_lock:
            rect = self._rect(img, box)
            return np.asarray(self.net.compute_face_descriptor(img, self.shape(img, rect)), np.float64)


def _mediapipe_box(rgb: np.ndarray):
    from core.face.expression import face_box

    return face_box(rgb)


def identity_distance(a_rgb: np.ndarray, b_rgb: np.ndarray) -> float:
    """Euclidean distance of the two faces' embeddings (same person typically < 0.6)."""
    e = FaceEmbedder()
    return float(np.linalg.norm(e.embed(a_rgb) - e.embed(b_rgb)))

