"""Core's warnings reach the studio: its log file and a note that stays visible (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.emotion.text import NRC_MISSING

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample"


def test_a_core_warning_lands_in_studio_log(tmp_path):
    """The studio's log set-up, then a real core warning (the NRC lexicon is missing)."""
    code = ("import sys\n"
            "sys.modules['nrclex'] = None\n"
            "from app.errors import setup_logging\n"
            "print(setup_logging())\n"
            "from core.emotion.text import nrc_available\n"
            "assert not nrc_available()\n")
    env = dict(os.environ, SYNCHRORAMA_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    log = Path(res.stdout.strip().splitlines()[-1])
    assert log.name == "studio.log"
    assert f"WARNING core.emotion.text: {NRC_MISSING}" in log.read_text()


@pytest.fixture
def no_nrc(monkeypatch):
    from core.emotion import text

    for name in ["nrclex"] + [m for m in sys.modules if m.startswith("nrclex.")]:
        monkeypatch.setitem(sys.modules, name, None)
    text._nrc.cache_clear()
    yield
    text._nrc.cache_clear()


def test_a_missing_nrc_lexicon_is_a_note_in_the_status_bar(studio, qtbot, clip_audio, no_nrc):
    from PySide6.QtWidgets import QLabel

    # a script of its own: the analysis cache must not hand back a track scored with the lexicon
    studio.session.new_project(str(SAMPLE / "portrait.png"), str(clip_audio),
                               "I am furious and angry at them, said the lexicon test.", name="nrc")
    qtbot.waitUntil(studio.settled, timeout=180000)
    assert NRC_MISSING in studio.session.tracks.settings["warnings"]
    note = studio.findChild(QLabel, "analysisNotes")
    assert note.isVisible() and "note" in note.text() and NRC_MISSING in note.toolTip()


def test_no_note_about_the_lexicon_when_it_is_installed(loaded):
    from PySide6.QtWidgets import QLabel

    note = loaded.findChild(QLabel, "analysisNotes")
    assert NRC_MISSING not in note.toolTip()
    assert note.isVisible() == bool(note.toolTip())
