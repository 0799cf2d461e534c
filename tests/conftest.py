"""Shared fixtures: isolated user dirs, the dev data folder, sample media."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
SAMPLE = REPO / "resources" / "sample"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Caches, models and logs go to a temporary folder, never the user's."""
    home = tmp_path_factory.getbasetemp() / "synchrorama-home"
    monkeypatch.setenv("SYNCHRORAMA_HOME", str(home))


def shared(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not found: {path} (needs ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def sample_image() -> Path:
    return SAMPLE / "portrait.png"


@pytest.fixture(scope="session")
def sample_audio() -> Path:
    return SAMPLE / "narration.wav"


@pytest.fixture(scope="session")
def short_audio(tmp_path_factory) -> Path:
    """The first 3 seconds of the sample narration (fast end-to-end renders)."""
    from core.io.ffmpeg import run_ffmpeg

    out = tmp_path_factory.mktemp("audio") / "short.wav"
    run_ffmpeg(["-y", "-i", str(SAMPLE / "narration.wav"), "-t", "3", str(out)], check=True)
    return out


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``synchrorama`` in a subprocess the way a user does."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=e)


def write_wav(path: Path, samples: np.ndarray, sr: int = 16000) -> Path:
    import soundfile as sf

    sf.write(str(path), samples.astype(np.float32), sr)
    return path
