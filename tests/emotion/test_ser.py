"""SER weights: manifest/sha check, loading, output on held-out RAVDESS actors."""

import json
import shutil

import numpy as np
import pytest

from core.emotion.ser import (
    MANIFEST_NAME, WEIGHTS_DIR, WEIGHTS_NAME, WeightsError, load_model, predict_windows,
    utterance_vector, classify_vectors,
)
from core.emotion.ser_data import SER_CLASSES, read_clip
from tests.conftest import shared


def test_manifest_and_licence_ship_with_weights():
    m = json.loads((WEIGHTS_DIR / MANIFEST_NAME).read_text())
    assert m["file"] == WEIGHTS_NAME and len(m["sha256"]) == 64
    assert "non-commercial" in m["licence"]
    assert (WEIGHTS_DIR / "LICENCE.txt").exists()
    assert (WEIGHTS_DIR / WEIGHTS_NAME).stat().st_size < 2_000_000
    model = load_model()
    assert model.classes == SER_CLASSES
    assert model.acoustic.W.shape[0] == len(SER_CLASSES)


def test_tampered_weights_are_refused(tmp_path):
    shutil.copy(WEIGHTS_DIR / MANIFEST_NAME, tmp_path / MANIFEST_NAME)
    data = bytearray((WEIGHTS_DIR / WEIGHTS_NAME).read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_model(tmp_path)
    (tmp_path / WEIGHTS_NAME).unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model(tmp_path)


@pytest.mark.data
@pytest.mark.parametrize("code,label", [("03", "happy"), ("04", "sad"), ("05", "angry")])
def test_held_out_actor_clip(code, label):
    """Actors 19 and 20 were never seen by the shipped model (manifest: held_out_actors)."""
    path = shared("emotion_speech", "ravdess", "Actor_20", f"03-01-{code}-02-01-01-20.flac")
    model = load_model()
    assert 20 in model.manifest["final"]["held_out_actors"]
    ac, wh = utterance_vector(read_clip(path))
    p, head = classify_vectors(model, ac, wh)
    assert p.shape == (8,) and p.sum() == pytest.approx(1, abs=1e-5)
    assert SER_CLASSES[int(np.argmax(p))] == label, dict(zip(SER_CLASSES, np.round(p, 2)))


@pytest.mark.data
def test_sliding_windows_on_held_out_clip():
    path = shared("emotion_speech", "ravdess", "Actor_19", "03-01-05-02-01-01-19.flac")
    x = read_clip(path)
    x = np.concatenate([x, np.zeros(16000 * 2, np.float32), x])  # speech, silence, speech
    win = predict_windows(x)
    assert win.probs.shape == (len(win.times), 8)
    assert np.allclose(win.probs.sum(1), 1, atol=1e-5)
    speechy = win.speech > 0.3
    assert speechy.any()
    assert win.arousal[speechy].mean() > 0.2          # angry: high arousal
    silent = win.speech < 0.1
    assert (win.confidence[silent] == 0).all()


def test_frame_features_in_blocks_equal_the_whole_recording(sample_audio):
    """Long narrations are framed 30 s at a time; the blocks must not change a value."""
    from core.emotion.ser_features import frame_features
    from core.io.audio import load_audio

    x = load_audio(sample_audio).samples[: 16000 * 6]
    whole = frame_features(x, block=10**9)
    blocks = frame_features(x, block=137)   # odd size: block edges fall everywhere
    for name in whole.__dataclass_fields__:
        a, b = getattr(whole, name), getattr(blocks, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3, equal_nan=True, err_msg=name)
    assert np.isfinite(whole.f0).sum() > 100   # the speech is voiced: YIN found pitch
