"""`synchrorama analyze`: JSON output and exit codes."""

import argparse
import json

import pytest

from core.commands.emotion import configure_analyze, run_analyze
from core.errors import UserInputError
from tests.conftest import shared


def _args(*argv):
    p = argparse.ArgumentParser()
    configure_analyze(p)
    return p.parse_args(list(argv))


def test_missing_audio_is_user_error(tmp_path):
    with pytest.raises(UserInputError):
        run_analyze(_args("--audio", str(tmp_path / "none.wav")))


@pytest.mark.data
def test_analyze_json_and_tracks(tmp_path, capsys):
    path = shared("emotion_speech", "ravdess", "Actor_19", "03-01-05-02-01-01-19.flac")
    out = tmp_path / "t.json"
    rc = run_analyze(_args("--audio", str(path), "--script", "I am furious!", "--json",
                           "--save-tracks", str(out)))
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ser"]["top"] == "angry" and res["fused"]["top"] == "angry"
    assert res["text"]["valence"] < 0 and res["prosody"]["arousal"] > 0.2
    doc = json.loads(out.read_text())
    assert doc["kind"] == "synchrorama-emotion-tracks" and len(doc["tracks"]) == 1
