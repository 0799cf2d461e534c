"""Read portraits of any common kind as 8-bit RGB, upright.

Handles EXIF orientation (phone photos), grayscale, palette, RGBA
(composited on a neutral grey), and 16-bit images. Renderers work on a face
crop and composite it back at the portrait's size, so every frame costs in
proportion to the portrait's pixels: ``load_portrait`` scales photos above
``WORK_MAX_PIXELS`` down (with a note saying so) and sizes above
``MAX_PIXELS`` are refused from the header, before decoding.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from core.errors import UserInputError

MAX_PIXELS = 120_000_000  # ~ 11000 x 11000; beyond that decoding itself is the risk
MIN_SIDE = 32
# Above this a portrait is scaled down for analysis and rendering. Measured on the 2-core dev
# machine (render + x264 per frame): 1 MP 0.08 s, 4.2 MP 0.26 s, 16.8 MP 0.97 s, 37.7 MP 2.1 s,
# so a minute of narration over a 36 MP photo took ~50 minutes; 16 MP keeps a 16 MP phone photo
# whole and a minute under ~25 minutes there. Larger videos also exceed what most players decode.
WORK_MAX_PIXELS = 16_000_000


def fit_pixels(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same shape and at most ``max_pixels`` (sides rounded down)."""
    if width * height <= max_pixels:
        return width, height
    s = (max_pixels / (width * height)) ** 0.5
    return max(1, int(width * s)), max(1, int(height * s))


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-averaged downscale (no aliasing on fine detail such as hair)."""
    import cv2

    return np.ascontiguousarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))


def scaled_note(path: str | Path, original: tuple[int, int], now: tuple[int, int], why: str) -> str:
    """The note a render prints when it works on a smaller copy of the portrait."""
    (w0, h0), (w, h) = original, now
    return (f"{Path(path).name} is {w0}x{h0} ({w0 * h0 / 1e6:.1f} megapixels); it was scaled to {w}x{h} for "
            f"analysis and rendering ({why}), so the video is at most {w}x{h}. "
            "Resize the photo yourself to choose another size.")


def working_size(path: str | Path, max_output: int = 0) -> tuple[int, int] | None:
    """The video size a portrait gives, read from its header only (nothing decoded): scaled to
    WORK_MAX_PIXELS, capped at ``max_output`` on the long side, even sides. None when the header
    cannot be read (loading the portrait reports why). A close-up scaled for its face area
    (core.face.rig.WORK_MAX_CROP) comes out smaller still."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
    except Exception:   # noqa: BLE001 - any unreadable header: the portrait's own load says what is wrong
        return None
    w, h = fit_pixels(w, h, WORK_MAX_PIXELS)
    if max_output and max(w, h) > max_output:
        s = max_output / max(w, h)
        w, h = int(w * s), int(h * s)
    return max(2, w // 2 * 2), max(2, h // 2 * 2)


def load_portrait(path: str | Path, max_pixels: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The upright portrait scaled to at most ``max_pixels`` (default WORK_MAX_PIXELS), and its own
    (width, height).

    A JPEG is decoded at a reduced DCT scale when that still leaves at least
    the working size (faster, a fraction of the memory), then area-averaged.
    """
    max_pixels = max_pixels or WORK_MAX_PIXELS
    arr, original = _load(path, max_pixels)
    h, w = arr.shape[:2]
    tw, th = fit_pixels(original[0], original[1], max_pixels)
    if (w, h) != (tw, th):
        arr = resize_rgb(arr, tw, th)
    return arr, original


def load_image(path: str | Path) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array of the upright image, at its full size."""
    return _load(path, None)[0]


def _load(path: str | Path, max_pixels: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode upright RGB; with ``max_pixels``, a JPEG may come back smaller (never below the
    size that fits ``max_pixels``). Returns the array and the image's own upright (width, height)."""
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
            width, height = im.width, im.height
            if max_pixels and im.format == "JPEG" and width * height > max_pixels:
                tw, th = fit_pixels(width, height, max_pixels)
                im.draft("RGB", (tw, th))   # the smallest DCT scale that still covers (tw, th)
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):   # EXIF orientations that swap the sides
                width, height = height, width
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
    if min(height, width) < MIN_SIDE:
        raise UserInputError(f"image is only {width}x{height} pixels.", path,
                             "Use a portrait of at least 256 pixels.")
    return arr, (width, height)


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
