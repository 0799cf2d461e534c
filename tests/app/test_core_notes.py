"""Core's warnings reach the studio: its log file and a note that stays visible (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_the_analysis_warnings_are_a_note_that_stays_in_the_status_bar(loaded, qtbot):
    """The analysis (core.pipeline: tests/emotion/test_nrc_missing.py shows it lists the missing
    lexicon) hands its warnings to every motion rebuild, and the window keeps them in view."""
    from PySide6.QtWidgets import QLabel

    note = loaded.findChild(QLabel, "analysisNotes")
    assert NRC_MISSING not in note.toolTip() and note.isVisible() == bool(note.toolTip())
    loaded.session.analysis.tracks.settings["warnings"].append(NRC_MISSING)
    with qtbot.waitSignal(loaded.session.motion_ready, timeout=60000):
        loaded.session.rebuild_motion()
    assert NRC_MISSING in loaded.session.tracks.settings["warnings"]
    assert note.isVisible() and "note" in note.text() and NRC_MISSING in note.toolTip()
    # every note is kept, not only the last one
    assert all(w in note.toolTip() for w in loaded.session.tracks.settings["warnings"])
