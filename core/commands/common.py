"""What the subcommands share: exit codes, the script/scene readers, the progress bar, Ctrl-C.

Only the standard library is imported here, so every command's ``--help``
stays light.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import UserInputError

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def parse_time(text: str) -> float:
    """Seconds from '12.5', '1:02', '01:02.5' or '1:02:03.5'; ValueError for anything else."""
    parts = text.strip().split(":")
    if len(parts) > 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts) \
            or any("." in p for p in parts[:-1]) or any(float(p) >= 60 for p in parts[1:]):
        raise ValueError(f"not a time: {text!r}")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return seconds


def parse_scene(spec: str):
    """'START-END: text' -> SceneSegment (times in seconds or mm:ss)."""
    from core.tracks import SceneSegment

    m = re.match(r"^\s*([\d:.]+)\s*-\s*([\d:.]+)\s*:\s*(.+)$", spec)
    if not m:
        raise UserInputError(f"cannot read scene '{spec}'.", None,
                             "Write it as START-END: text, e.g. \"0-3.5: smiles and nods\".")
    try:
        start, end = parse_time(m.group(1)), parse_time(m.group(2))
    except ValueError:
        raise UserInputError(f"cannot read the times of scene '{spec}'.", None,
                             "Write times as seconds (12.5), m:ss (1:02.5) or h:mm:ss, e.g. \"1:05-1:09: nods\".") from None
    if end <= start:
        raise UserInputError(f"scene '{spec}' ends before it starts.", None, "Swap the times.")
    return SceneSegment(start=start, end=end, text=m.group(3).strip(), source="user")


def script_file(value: str | None) -> Path | None:
    """The file of a ``--script @FILE`` value (an input the outputs must not overwrite); None for text."""
    return Path(value[1:]) if value and value.startswith("@") else None


def read_script(value: str | None) -> str | None:
    """``--script TEXT|@FILE`` as text: a missing file, a folder, non-UTF-8 text are named (exit 2)."""
    if value is None:
        return None
    path = script_file(value)
    if path is None:
        return value.strip()
    from core.io.files import read_user_text

    try:
        return read_user_text(path, "script file",
                              "Give the narration's text file after @, e.g. --script @narration.txt.").strip()
    except UnicodeDecodeError:
        raise UserInputError("script is not UTF-8 text.", path, "Save it as UTF-8 text.") from None
    except OSError as exc:
        raise UserInputError(f"cannot read the script file ({exc.strerror or exc}).", path,
                             "Check the file's permissions.") from None


class ProgressBar:
    """One stderr line per stage: a bar on a terminal, sparse lines otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.stage = None
        self.t_stage = time.perf_counter()
        self.last = 0.0
        self.last_pct = -1

    def __call__(self, stage: str, done: float, total: float) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            if self.stage is not None and self.tty:
                self.stream.write("\n")
            self.stage, self.t_stage, self.last_pct = stage, now, -1
        frac = min(1.0, done / total) if total else 1.0
        pct = int(frac * 100)
        if self.tty:
            if now - self.last < 0.1 and frac < 1:
                return
            eta = (now - self.t_stage) / frac * (1 - frac) if frac > 0 else 0
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            self.stream.write(f"\r{stage:<16} [{bar}] {pct:3d}%  ETA {eta:5.1f}s")
        elif pct // 10 != self.last_pct // 10 or frac >= 1 and self.last_pct < 100:
            self.stream.write(f"{stage}: {pct}%\n")
        self.last_pct, self.last = pct, now
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def cancel_on_ctrl_c(bar: ProgressBar | None = None) -> Iterator:
    """A CancelToken that Ctrl-C sets while the block runs (the job stops at its next check and
    leaves nothing behind); the previous handler comes back and the bar is closed afterwards."""
    from core.progress import CancelToken

    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
