"""App fixtures: a studio window on the offscreen platform with a short sample analysed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


@pytest.fixture(scope="session")
def clip_audio(tmp_path_factory) -> Path:
    """2.5 s of the sample narration keeps every app test quick."""
    from core.io.ffmpeg import run_ffmpeg

    out = tmp_path_factory.mktemp("clip") / "clip.wav"
    run_ffmpeg(["-y", "-i", str(SAMPLE / "narration.wav"), "-t", "2.5", str(out)], check=True)
    return out


@pytest.fixture
def studio(qtbot):
    """An empty main window that asks no blocking questions."""
    from app import errors
    from app.settings import AppSettings
    from app.window import MainWindow

    errors.shown.clear()
    win = MainWindow(settings=AppSettings(), ask=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.session.undo.setClean()
    win.close()


@pytest.fixture
def loaded(studio, qtbot, clip_audio):
    """The window with the sample portrait + a 2.5 s narration, analysed and previewed."""
    studio.session.new_project(str(SAMPLE / "portrait.png"), str(clip_audio), "Hello, and welcome.", name="clip")
    # generous: on a loaded 2-core CI machine analysis + first preview can take a while
    qtbot.waitUntil(studio.settled, timeout=180000)
    return studio
