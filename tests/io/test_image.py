from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import UserInputError
from core.io.image import load_image


def _gradient(w=64, h=48) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    return np.stack([x, x[::-1] * 0 + 40, np.full_like(x, 200)], -1).astype(np.uint8)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(_gradient(64, 48))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif)
    arr = load_image(path)
    assert arr.shape == (64, 48, 3)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_modes_become_rgb8(tmp_path, mode):
    base = Image.fromarray(_gradient())
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    else:
        img = base.convert(mode)
    path = tmp_path / f"img_{mode.replace(';', '')}.png"
    img.save(path)
    arr = load_image(path)
    assert arr.dtype == np.uint8 and arr.shape == (48, 64, 3)
    if mode == "I;16":  # scaled from 16 bits back to the 8-bit grey it came from
        grey = np.asarray(base.convert("L"))
        assert np.abs(arr[..., 0].astype(int) - grey).max() <= 1


def test_text_file_as_image(tmp_path):
    path = tmp_path / "portrait.jpg"
    path.write_text("hello")
    with pytest.raises(UserInputError, match="not an image") as err:
        load_image(path)
    assert "portrait.jpg" in str(err.value)


def test_tiny_image_rejected(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(_gradient(16, 16)).save(path)
    with pytest.raises(UserInputError, match="pixels"):
        load_image(path)
