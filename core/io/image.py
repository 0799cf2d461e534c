"""Read portraits of any common kind as 8-bit RGB, upright.

Handles EXIF orientation (phone photos), grayscale, palette, RGBA
(composited on a neutral grey), and 16-bit images. Very large photos are
kept at full resolution: renderers work on a face crop and composite back.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from core.errors import UserInputError

MAX_PIXELS = 120_000_000  # ~ 11000 x 11000; beyond that decoding itself is the risk
MIN_SIDE = 32


def load_image(path: str | Path) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array of the upright image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise UserInputError("image file not found.", path, "Check the path.")
    if path.is_dir():
        raise UserInputError("is a folder, not an image.", path, "Pick a portrait image file.")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():   # the size is checked below, in words, not as Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            # Pillow only refuses above twice its limit (a 144 MP photo just warned and then
            # rendered at ~6 s a frame): check the header's size before decoding anything
            if im.width * im.height > MAX_PIXELS:
                raise UserInputError(
                    f"image is {im.width}x{im.height} ({im.width * im.height / 1e6:.0f} megapixels), "
                    f"more than the {MAX_PIXELS // 1_000_000} this version works with.", path,
                    "Downscale it first (a portrait of 2000-4000 pixels is plenty).")
            im = ImageOps.exif_transpose(im)
            arr = _to_rgb8(im)
    except UnidentifiedImageError:
        raise UserInputError("is not an image file.", path,
                             "Use a JPEG, PNG, WebP, BMP or TIFF portrait.") from None
    except Image.DecompressionBombError:
        raise UserInputError(f"image is larger than {MAX_PIXELS // 1_000_000} megapixels.", path,
                             "Downscale it first.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserInputError(f"image is damaged or truncated ({exc}).", path,
                             "Re-export the image and try again.") from None
    if min(arr.shape[:2]) < MIN_SIDE:
        raise UserInputError(f"image is only {arr.shape[1]}x{arr.shape[0]} pixels.", path,
                             "Use a portrait of at least 256 pixels.")
    return arr


def _to_rgb8(im) -> np.ndarray:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if a.max() > 255 else 255.0
        g = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        g = np.clip((a - a.min()) / max(np.ptp(a), 1e-9) * 255, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (128, 128, 128, 255))
        im = Image.alpha_composite(bg, im)
    arr = np.asarray(im.convert("RGB"))
    if arr.dtype != np.uint8:  # 16-bit RGB TIFF/PNG
        arr = np.clip(arr / 257.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def save_png(path: str | Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
