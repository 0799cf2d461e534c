"""Safe file writing, reading the files a user names, and content hashing.

Saves are atomic (write to a temporary file beside the target, fsync,
rename) so a crash or a full disk never leaves a half-written project or
video under the user's chosen name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import DiskFullError, UserInputError


def read_user_text(path: str | Path, what: str, folder_hint: str) -> str:
    """The UTF-8 text of a file the user named (a script, a scenes, tracks, curves or project file).

    A missing file is "<what> not found." and a folder "is a folder, not a <what>." with
    ``folder_hint``, both naming the path (exit 2 in the CLI). Text that is not UTF-8 raises
    UnicodeDecodeError, other read errors OSError: each caller words those for its format.
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{what} not found.", path, "Check the path.") from None
    except IsADirectoryError:
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise UserInputError(f"is a folder, not {article} {what}.", path, folder_hint) from None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic swap (brief; process-wide)
    os.umask(mask)
    return mask


def _give_final_mode(tmp: Path, target: Path) -> None:
    """mkstemp makes 0600 files and that mode survives the rename: give the file the mode a
    plain open() would have (an existing target keeps its own mode), so other users, a web
    server or a shared folder can read what the user exported or saved."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    os.chmod(tmp, mode)


# Temporary files are named ".<final name>.<pid>~<random><suffix>" beside the final file, so a
# later run can tell which ones a dead process left behind. Versions before this wrote
# ".<stem>.<8 random chars>.part.mp4" (+ ".log") for videos; those are recognised too.
_LEGACY_PART = re.compile(r"^[a-z0-9_]{8}\.part\.mp4(\.log)?$")
_OWNED = re.compile(r"^(\d+)~[a-z0-9_]+\.")
LEGACY_STALE_AFTER_S = 3600.0   # a legacy part file untouched this long has no live encoder


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}~"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine.

    On Windows ``os.kill(pid, 0)`` would *terminate* that process, so there the
    process is opened and its exit code read instead.
    """
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":
        import ctypes

        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.restype = wintypes.HANDLE   # a pointer-sized handle, not a C int
        kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
        kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
        kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists, someone else's
        try:
            code = wintypes.DWORD()
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True   # exists, owned by someone else
    return True


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temporary files a killed earlier run on ``target`` left beside it.

    Only our own naming for this very file name is touched: files whose writer
    process is gone, or legacy video part files untouched for an hour. On
    Windows a temp file still being written is locked, so removing it fails
    and it is kept. Returns what was removed.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    own, legacy = f".{target.name}.", f".{target.stem}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        stale = False
        if e.name.startswith(own) and (m := _OWNED.match(e.name[len(own):])):
            stale = os.name == "nt" or not pid_alive(int(m.group(1)))
        elif target.suffix.lower() == ".mp4" and e.name.startswith(legacy) \
                and _LEGACY_PART.match(e.name[len(legacy):]):
            try:
                stale = now - e.stat().st_mtime > LEGACY_STALE_AFTER_S
            except OSError:
                continue
        if not stale or not e.is_file(follow_symlinks=False):
            continue
        try:
            os.unlink(e.path)
        except OSError:
            continue   # in use (Windows) or already gone
        removed.append(Path(e.path))
    return removed


@contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename onto it on success.

    On any exception (including cancellation) the temporary file is removed
    and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=_temp_prefix(target), suffix=suffix or (target.suffix + ".part"), dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _give_final_mode(tmp, target)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise DiskFullError("the disk is full.", target, "Free some space and try again.") from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(Path(target), suffix=".tmp") as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))
