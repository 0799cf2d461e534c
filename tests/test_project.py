"""The project document: round trip, migration, corrupt files, autosave recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.errors import UserInputError
from core.project import (
    SCHEMA, ExportOptions, Project, autosave_path, find_recoveries, load_project, migrate,
    write_autosave,
)
from core.tracks import Alignment, SceneSegment, Word


def _project(tmp_path) -> Project:
    media = tmp_path / "media"
    media.mkdir()
    (media / "p.png").write_bytes(b"x")
    return Project(
        name="Demo", portrait=str(media / "p.png"), narration="/elsewhere/n.wav", script="Hi there.",
        face=1, seed=3, emotion="happy", emotion_strength=1.5,
        curves={"kind": "synchrorama-emotion-curves", "version": 1,
                "channels": {"valence": {"mode": "override", "amount": 1.0,
                                         "keys": [{"t": 0.0, "v": 0.2, "interp": "bezier", "out": [0.3, 0.1]},
                                                  {"t": 1.0, "v": -0.4, "interp": "linear"}]}}},
        scenes=[SceneSegment(0.0, 1.0, "smiles", "user")],
        alignment=Alignment(script="Hi there.", words=[Word("hi", 0.1, 0.3)], source="forced"),
        export=ExportOptions(size=256, fps=30.0, crf=20),
    )


def test_save_reopen_round_trip_is_byte_identical(tmp_path):
    p = _project(tmp_path)
    f = p.save(tmp_path / "demo")
    assert f.suffix == ".srproj"
    first = f.read_text()
    doc = json.loads(first)
    assert doc["schema"] == SCHEMA
    assert doc["media"]["portrait"] == "media/p.png"          # inside the folder: relative
    assert doc["media"]["narration"] == "/elsewhere/n.wav"    # outside: absolute
    q = load_project(f)
    assert q.portrait == str((tmp_path / "media" / "p.png").resolve())
    assert q.alignment.words[0].text == "hi" and q.export.fps == 30.0 and q.face == 1
    q.save()
    assert f.read_text() == first


def test_migrates_schema_0(tmp_path):
    old = {"kind": "synchrorama-project", "name": "old", "image": "a.png", "audio": "b.wav",
           "scenes": [{"start": 0, "end": 1, "text": "nods"}]}
    f = tmp_path / "old.srproj"
    f.write_text(json.dumps(old))
    p = load_project(f)
    assert p.portrait.endswith("a.png") and p.narration.endswith("b.wav")
    assert p.scenes[0].text == "nods" and p.export == ExportOptions()
    assert migrate(old)["schema"] == SCHEMA


@pytest.mark.parametrize("content, words", [
    ("{not json", "invalid JSON"),
    ('{"kind": "something-else"}', "not a SynchroRaMa project"),
    ('{"kind": "synchrorama-project", "schema": 99}', "newer"),
    ('{"kind": "synchrorama-project", "schema": 1, "emotion": {"mode": "gleeful"}}', "unknown emotion"),
    ('{"kind": "synchrorama-project", "schema": 1, "scenes": {"segments": [{"start": 0}]}}', "damaged"),
    ('{"kind": "synchrorama-project", "schema": 1, "emotion": {"curves": {"channels": {"valence": []}}}}',
     "emotion curves"),
])
def test_corrupt_files_are_user_errors(tmp_path, content, words):
    f = tmp_path / "bad.srproj"
    f.write_text(content)
    with pytest.raises(UserInputError) as e:
        load_project(f)
    assert words in str(e.value) and str(f) in str(e.value)


def test_binary_and_missing_files(tmp_path):
    f = tmp_path / "bin.srproj"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserInputError):
        load_project(f)
    with pytest.raises(UserInputError, match="not found"):
        load_project(tmp_path / "nope.srproj")


def test_autosave_of_a_dead_session_is_offered_and_a_live_one_is_not(tmp_path):
    p = _project(tmp_path)
    p.path = str(tmp_path / "demo.srproj")
    live = write_autosave(p)
    assert live == autosave_path(p.path)
    assert find_recoveries() == []          # this process is alive: not a crash
    # the same file written by a process that has exited = a crash
    doc = json.loads(live.read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    doc["autosave"]["pid"] = int(dead)
    live.write_text(json.dumps(doc))
    rec = find_recoveries()
    assert len(rec) == 1 and rec[0].origin == p.path
    restored = rec[0].load()
    assert restored.script == "Hi there." and restored.path == p.path
    # saving the project removes its autosave
    p.save()
    assert not live.exists() and find_recoveries() == []


def test_stale_autosave_older_than_the_saved_file_is_dropped(tmp_path):
    p = _project(tmp_path)
    p.save(tmp_path / "demo.srproj")
    a = write_autosave(p)
    doc = json.loads(a.read_text())
    doc["autosave"]["pid"] = 0
    a.write_text(json.dumps(doc))
    os.utime(a, (1, 1))
    assert find_recoveries() == [] and not a.exists()


def test_analyse_project_needs_both_media(tmp_path):
    from core.project import analyse_project

    p = Project(name="empty", portrait="", narration="")
    with pytest.raises(UserInputError, match="portrait and a narration"):
        analyse_project(p)


def test_renderer_options_follow_the_export_settings():
    from core.project import renderer_options

    # the mesh renderer runs on the CPU only: the studio's device setting does not reach it
    assert renderer_options(ExportOptions(renderer="mesh"), device="cuda") == {}
    opts = renderer_options(ExportOptions(renderer="diffusion", avatar="anna"), device="cuda")
    assert opts == {"avatar": "anna", "device": "cuda"}


def test_cli_project_refuses_settings_the_project_holds(tmp_path):
    from tests.conftest import run_cli

    p = _project(tmp_path)
    f = p.save(tmp_path / "demo.srproj")
    res = run_cli("render", "--project", str(f), "--scene", "0-1: nods", timeout=120)
    assert res.returncode == 2 and "--scene cannot be combined with --project" in res.stderr
    res = run_cli("render", "--project", str(tmp_path / "missing.srproj"), timeout=120)
    assert res.returncode == 2 and "project file not found" in res.stderr


def test_motion_settings_are_saved_and_reloaded(tmp_path):
    p = _project(tmp_path)
    p.head_motion, p.blink_rate = 1.7, 12.5
    f = p.save(tmp_path / "motion")
    doc = json.loads(f.read_text())
    assert doc["motion"] == {"head_motion": 1.7, "blink_rate": 12.5}
    q = load_project(f)
    assert (q.head_motion, q.blink_rate) == (1.7, 12.5)


def test_motion_settings_default_for_older_files(tmp_path):
    f = tmp_path / "old.srproj"
    f.write_text(json.dumps({"kind": "synchrorama-project", "schema": 1, "name": "old"}))
    q = load_project(f)
    assert (q.head_motion, q.blink_rate) == (1.0, 17.0)


@pytest.mark.parametrize("motion, word", [({"head_motion": 2.5}, "head motion"), ({"head_motion": -1}, "head motion"),
                                          ({"blink_rate": 100}, "blink rate"), ({"blink_rate": "often"}, "blink_rate"),
                                          ({"head_motion": True}, "head_motion"), ([], "motion")])
def test_bad_motion_settings_name_the_setting(tmp_path, motion, word):
    f = tmp_path / "bad.srproj"
    f.write_text(json.dumps({"kind": "synchrorama-project", "schema": 1, "motion": motion}))
    with pytest.raises(UserInputError) as e:
        load_project(f)
    assert word in str(e.value) and str(f) in str(e.value)
