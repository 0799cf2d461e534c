"""The offline MiniLM encoder: same vectors as sentence-transformers, verified weights."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserInputError
from core.scene import encoder

# First six dimensions of all-MiniLM-L6-v2 (sentence-transformers 6.2, normalize_embeddings=True)
# for these texts, computed once on this machine.
REFERENCE = {
    "smiles warmly and nods": [-0.05902, 0.00715, 0.04717, 0.07172, 0.06340, 0.02682],
    "looks away, thoughtful": [-0.03167, 0.11095, 0.01832, 0.01440, 0.01818, -0.02641],
    "juggles three balls": [0.06198, 0.00087, -0.04595, -0.07125, -0.01767, -0.02863],
}


def test_matches_sentence_transformers_reference():
    e = encoder.embed_texts(list(REFERENCE))
    assert e.shape == (3, 384) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    for row, ref in zip(e, REFERENCE.values()):
        assert np.allclose(row[:6], ref, atol=2e-5)


def test_paraphrases_are_closer_than_unrelated_actions():
    a, b, c = encoder.embed_texts(["smiles broadly", "grins from ear to ear", "shakes her head"])
    assert a @ b > a @ c + 0.1


def test_empty_input_and_cache_identity():
    assert encoder.embed_texts([]).shape == (0, 384)
    x = encoder.embed_texts(["Smiles  warmly"])
    y = encoder.embed_texts(["smiles warmly"])
    assert np.array_equal(x, y)


def test_a_replaced_weight_file_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in encoder.MANIFEST:
        (folder / name).write_bytes(b"not the real file")
    with pytest.raises(UserInputError) as e:
        encoder.verify_files(folder)
    assert "damaged or was replaced" in str(e.value)
    assert encoder.verify_files() == encoder.model_dir()  # the installed files pass
