"""Entry point of the frozen bundle: one program, two faces.

The bundle holds two executables built from this script: ``synchrorama``
(console) runs the command line, ``synchrorama-studio`` (windowed) the app.
Which one runs is decided by the executable's own name.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _frozen_environment() -> None:
    """Keep every cache out of the (possibly read-only) install folder."""
    from core.paths import cache_dir

    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> int:
    multiprocessing.freeze_support()
    _frozen_environment()
    if Path(sys.executable).stem.lower().endswith("studio"):
        from app.main import main as run
    else:
        from core.cli import main as run
    return int(run() or 0)


if __name__ == "__main__":
    sys.exit(main())
