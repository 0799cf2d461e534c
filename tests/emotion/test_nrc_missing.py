"""A missing NRC lexicon (nrclex left out, e.g. for its licence) is said, never silent (issue 17).

Without it the script still gives valence (VADER) but no emotion classes.
The analysis records that in the track's sources, and every front end says
it: the render CLI as a note on stderr and in --json's warnings, analyze
in its JSON, the log file through core's logger, the studio (tests/app).
"""

from __future__ import annotations

import json
import logging
import sys

import pytest

from core.emotion.text import NRC_MISSING
from tests.conftest import REPO, SAMPLE

SCRIPT = "I am so happy and delighted to see you all again today!"


@pytest.fixture
def no_nrc(monkeypatch):
    """nrclex cannot be imported (as when it is not installed)."""
    from core.emotion import text

    for name in ["nrclex"] + [m for m in sys.modules if m.startswith("nrclex.")]:
        monkeypatch.setitem(sys.modules, name, None)
    text._nrc.cache_clear()
    yield
    text._nrc.cache_clear()


ANGRY = "I am furious and angry at them."


def _top(text: str) -> str:
    from core.emotion.text import score_text

    probs = score_text(text).summary()["probs"]
    return max(probs, key=probs.get)


def test_without_the_lexicon_text_gives_valence_only_and_logs_why(no_nrc, caplog):
    from core.emotion.text import nrc_available, score_text

    with caplog.at_level(logging.WARNING, logger="core.emotion.text"):
        assert not nrc_available()
    assert [r.getMessage() for r in caplog.records if r.name == "core.emotion.text"] == [NRC_MISSING]
    assert score_text(SCRIPT).summary()["valence"] > 0.5      # VADER still reads the words
    assert _top(ANGRY) != "angry"                              # but no word classes: anger is lost


def test_with_the_lexicon_the_classes_are_there():
    from core.emotion.text import nrc_available

    assert nrc_available()
    assert _top(ANGRY) == "angry"


def _analyse(short_audio):
    from core.emotion.fusion import analyse_emotion, emotion_warnings
    from core.io.audio import load_audio
    from core.speech.features import analyse_audio
    from core.tracks import Alignment, Word

    audio = load_audio(short_audio)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    words = [Word(w, i * 0.25, i * 0.25 + 0.2) for i, w in enumerate(SCRIPT.split())]
    al = Alignment(script=SCRIPT, words=words, source="forced")
    n = int(audio.duration * 25)
    track = analyse_emotion(audio, feats, al, 25.0, n)
    return track, emotion_warnings(track)


def test_the_track_records_the_missing_lexicon_and_the_warning_follows(no_nrc, short_audio):
    track, warnings = _analyse(short_audio)
    assert track.sources["text_classes"] == 0.0
    assert NRC_MISSING in warnings
    # a cached track (serialised and read back) says the same
    from core.emotion.fusion import emotion_warnings
    from core.tracks import EmotionTrack

    assert NRC_MISSING in emotion_warnings(EmotionTrack.from_dict(json.loads(json.dumps(track.to_dict()))))


def test_no_warning_when_the_lexicon_is_installed(short_audio):
    track, warnings = _analyse(short_audio)
    assert track.sources["text_classes"] == 1.0 and NRC_MISSING not in warnings


def _run_blocked(args: list[str], home) -> "subprocess.CompletedProcess":
    import os
    import subprocess

    code = ("import sys; sys.modules['nrclex'] = None\n"
            "from core.cli import main\n"
            f"sys.exit(main({args!r}))\n")
    env = dict(os.environ, SYNCHRORAMA_HOME=str(home))
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=600)


def test_render_cli_says_it_on_stderr_in_json_and_in_its_log(short_audio, tmp_path):
    out = tmp_path / "o.mp4"
    res = _run_blocked(["render", "--image", str(SAMPLE / "portrait.png"), "--audio", str(short_audio),
                        "--script", SCRIPT, "--size", "128", "--max-output", "128", "--no-cache", "--json",
                        "-o", str(out)], tmp_path / "home")
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"note: {NRC_MISSING}" in res.stderr
    assert res.stderr.count(NRC_MISSING) == 1          # the log record went to the log file, not here too
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert NRC_MISSING in summary["warnings"]
    logs = "".join(p.read_text() for p in (tmp_path / "home").rglob("synchrorama.log"))
    assert f"WARNING core.emotion.text: {NRC_MISSING}" in logs


def test_analyze_cli_says_it_in_json(short_audio, tmp_path):
    res = _run_blocked(["analyze", "--audio", str(short_audio), "--script", SCRIPT, "--json"], tmp_path / "home")
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert NRC_MISSING in doc["warnings"] and doc["sources"]["text_classes"] == 0.0
    assert f"note: {NRC_MISSING}" in res.stderr


def test_the_analysis_cache_does_not_keep_a_track_scored_without_the_lexicon(short_audio, tmp_path, monkeypatch):
    """Blocked, then installed again, on one cache: the second analysis rescored the script."""
    from core.emotion import text
    from core.pipeline import RenderRequest, analyse

    req = RenderRequest(image=SAMPLE / "portrait.png", audio=short_audio, script=SCRIPT, cache_root=tmp_path)
    with monkeypatch.context() as m:
        for name in ["nrclex"] + [k for k in sys.modules if k.startswith("nrclex.")]:
            m.setitem(sys.modules, name, None)
        text._nrc.cache_clear()
        _, _, before = analyse(req)
    text._nrc.cache_clear()
    _, _, after = analyse(req)
    assert NRC_MISSING in before.settings["warnings"]
    assert NRC_MISSING not in after.settings["warnings"] and after.emotion.sources["text_classes"] == 1.0
