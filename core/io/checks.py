"""Checks on where a render writes and on its export settings, done before any work.

Analysis and rendering can take minutes; an output that cannot be written
(a folder, a read-only place, one of the user's own inputs) must be refused
first, with one line naming the setting and the fix. The export settings are
checked here too, whatever their source (CLI flags, a project file, the
studio), so a project cannot reach the encoder with values the CLI refuses.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from core.errors import UserInputError
from core.io.files import remove_stale_temps

FPS_RANGE = (1.0, 120.0)
SIZE_RANGE = (64, 4096)
CRF_RANGE = (0, 51)
MAX_OUTPUT_RANGE = (64, 16384)   # 0 means "the portrait's own size"
MIN_FREE_BYTES = 1 << 20         # less than this cannot hold even a second of video


def _same_file(a: Path, b: Path) -> bool:
    """True when two paths name one file: same resolved path, or the same inode (links)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except OSError:
        pass
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(output: str | Path, inputs: Mapping[str, str | Path | None], setting: str = "-o",
                 kind: str = "video file", example: str = "video.mp4") -> None:
    """Refuse an output that cannot be written or would replace an input.

    ``inputs`` maps the setting a user gave each input file with (``--audio``,
    ``the project's narration``...) to its path; ``setting`` names the output's.
    The nearest existing folder is probed by creating and removing a file, so
    a read-only mount or missing permission is found now, not after rendering.
    When all is well, temporary files a killed earlier run on this output left
    are removed (core.io.files.remove_stale_temps).
    """
    out = Path(output)
    for name, path in inputs.items():
        if path is not None and str(path) and _same_file(out, Path(path)):
            raise UserInputError(f"{setting} is the same file as {name}: rendering would overwrite it.", out,
                                 f"Choose another output name for {setting}.")
    if out.is_dir():
        raise UserInputError(f"{setting} is a folder, not a {kind}.", out,
                             f"Give a file name, e.g. {setting} {out / example}.")
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UserInputError(f"{setting} cannot be written: {folder} is a file, not a folder.", out,
                             f"Choose an output inside a folder for {setting}.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".synchrorama-probe.", dir=folder)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UserInputError(f"{setting} cannot be written: the folder {folder} is not writable ({reason}).",
                             out, f"Choose a folder you can write to for {setting}.") from None
    os.close(fd)
    os.unlink(probe)
    remove_stale_temps(out)  # what a killed earlier run on this output left beside it
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None   # not reported (some network folders): the encoder's own check remains
    if free is not None and free < MIN_FREE_BYTES:
        raise UserInputError(f"the disk is full ({free // 1024} KiB free in {folder}).", out,
                             f"Free some space or choose another folder for {setting}.")  # what a killed earlier run on this output left beside it


OVERWRITE_FLAG = "--overwrite (-y)"


def check_not_existing(output: str | Path, overwrite: bool, setting: str = "-o") -> None:
    """Refuse to replace a file the user already has unless they asked to (``--overwrite``).

    Call it after check_output, so a folder or one of the inputs gets its own
    line (an input stays refused even with the flag). A link, even a dangling
    one, counts as existing: the rename at the end would replace it. With the
    flag the replace stays atomic (temporary file, then rename).
    """
    out = Path(output)
    if overwrite or not os.path.lexists(out) or out.is_dir():
        return
    err = UserInputError(f"{out} already exists: pass {OVERWRITE_FLAG} to replace it, "
                         f"or choose another {setting}.")
    err.path, err.detail = str(out), "already exists"
    raise err


def add_overwrite_flag(parser, what: str = "the output") -> None:
    """``--overwrite``/``-y`` on a subcommand that writes files the user names."""
    parser.add_argument("-y", "--overwrite", action="store_true",
                        help=f"replace {what} if it already exists (refused otherwise)")


# A low estimate of an export's size, so that only a disk that clearly cannot hold the video is
# refused (a disk that fills anyway is caught during encoding). Measured on 15-s renders at crf 18:
# 0.021-0.091 bits per pixel and frame (720 px painting .. 2048 px detailed photo, 0.057 for the
# sample); the bit rate fell 4.9x from crf 18 to 28 and 12.8x from 18 to 30 (halving every 3.3-4.4
# steps). The narration's AAC: 79 kb/s for 16 kHz mono, 160 kb/s at most.
LOW_BITS_PER_PIXEL_CRF18 = 0.015
CRF_HALVING_STEPS = 3.3
LOW_AUDIO_BYTES_PER_S = 8_000


def estimate_video_bytes(seconds: float, width: int, height: int, fps: float, crf: float) -> int:
    """A low estimate of an H.264 + AAC export's size in bytes (see LOW_BITS_PER_PIXEL_CRF18)."""
    bpp = LOW_BITS_PER_PIXEL_CRF18 * 2.0 ** ((18 - float(crf)) / CRF_HALVING_STEPS)
    return int(seconds * (bpp * width * height * fps / 8 + LOW_AUDIO_BYTES_PER_S)) + 64_000   # + headers, moov


def _mb(n: float) -> str:
    mb = n / 1e6
    return f"{mb:.1f}" if mb < 10 else f"{mb:.0f}"


def check_free_space(output: str | Path, need: int, setting: str = "-o") -> None:
    """Refuse an output whose disk has less free space than ``need`` bytes (a low estimate)."""
    out = Path(output)
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return   # not reported (some network folders): the encoder's own check remains
    if free < need:
        raise UserInputError(f"not enough free space on {folder}: need at least ~{_mb(need)} MB for this video, "
                             f"have {_mb(free)} MB.", out,
                             f"Free some space or choose another folder for {setting}.")


def check_room_for_video(output: str | Path, *, image: str | Path | None, audio: str | Path | None,
                         fps: float, crf: float, max_output: int = 0, setting: str = "-o") -> None:
    """Before any work: the video's size estimated from the portrait's header and the narration's
    length must fit on the output's disk. Says nothing when either cannot be read (their own
    loading reports that); Mp4Writer checks again with the exact frame size."""
    from core.io.audio import media_duration
    from core.io.image import working_size

    if image is None or audio is None or not Path(image).is_file() or not Path(audio).is_file():
        return
    size = working_size(image, max_output)
    seconds = media_duration(audio)
    if size is None or not seconds:
        return
    check_free_space(output, estimate_video_bytes(seconds, size[0], size[1], fps, crf), setting)


def _number(value: object, name: str, where: str | Path | None, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and isinstance(value, float)
                                                                          and not value.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise UserInputError(f"{name} is {value!r}, not {kind}.", where, f"Set {name} to {kind}.")
    if not math.isfinite(value):
        raise UserInputError(f"{name} is {value!r}, not a finite number.", where, f"Set {name} to a number.")
    return float(value)


def check_seed(seed: object, name: str = "--seed", where: str | Path | None = None) -> int:
    """A motion seed: any whole number from 0 up (a negative one fails deep inside NumPy)."""
    v = _number(seed, name, where, integer=True)
    if v < 0:
        raise UserInputError(f"{name} {v:g} is negative.", where,
                             f"Use 0 or more for {name} (each number gives another take of the motion).")
    return int(v)


def check_strength(value: object, maximum: float, name: str = "--emotion-strength",
                   where: str | Path | None = None) -> float:
    """The emotion strength: 0 (neutral face) .. ``maximum`` (core.emotion.control.MAX_STRENGTH,
    passed in so this low layer does not import the emotion stage), 1 = as analysed."""
    v = _number(value, name, where, integer=False)
    if not 0.0 <= v <= maximum:
        raise UserInputError(f"{name} {v:g} is out of range.", where,
                             f"Use 0..{maximum:g} for {name} (1 = as analysed).")
    return v


def check_fps(fps: object, name: str = "--fps", where: str | Path | None = None) -> float:
    """A frame rate every command can use: 1..120 frames a second (0 would divide by zero)."""
    v = _number(fps, name, where, integer=False)
    lo, hi = FPS_RANGE
    if not lo <= v <= hi:
        raise UserInputError(f"{name} {v:g} is out of range.", where, f"Use {lo:g}..{hi:g} (25 is typical).")
    return v


def check_export_settings(*, fps: object, size: object, crf: object, max_output: object,
                          names: Mapping[str, str] | None = None, where: str | Path | None = None) -> None:
    """Types and ranges of the export settings; ``names`` says how the user wrote each one.

    The CLI passes ``--fps``...; a project passes ``export.fps``... and its
    file as ``where`` so the line names the file and the key.
    """
    n = {"fps": "--fps", "size": "--size", "crf": "--crf", "max_output": "--max-output", **(names or {})}
    check_fps(fps, n["fps"], where)
    v = _number(size, n["size"], where, integer=True)
    lo, hi = SIZE_RANGE
    if not lo <= v <= hi:
        raise UserInputError(f"{n['size']} {v:g} is out of range.", where, f"Use {lo}..{hi} (512 is typical).")
    v = _number(crf, n["crf"], where, integer=True)
    lo, hi = CRF_RANGE
    if not lo <= v <= hi:
        raise UserInputError(f"{n['crf']} {v:g} is out of range.", where,
                             f"Use {lo}..{hi} (lower is better quality; 18 is visually lossless).")
    v = _number(max_output, n["max_output"], where, integer=True)
    lo, hi = MAX_OUTPUT_RANGE
    if v != 0 and not lo <= v <= hi:
        raise UserInputError(f"{n['max_output']} {v:g} is out of range.", where,
                             f"Use 0 (the portrait's size) or {lo}..{hi} pixels.")
