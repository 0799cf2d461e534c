"""Nothing the user owns is overwritten without an explicit flag (issue 16).

Every command that writes a file the user names refuses an existing one
before any work (exit 2, one line naming the file, ``--overwrite (-y)`` and
the option to change), leaves it byte for byte as it was with no temporary
file beside it; with ``--overwrite`` (or ``-y``) it is replaced by a rename
(a new inode: never truncated in place). One of the inputs stays refused
even with the flag.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from core.cli import main

OLD = b"the user's own file, not ours to replace\n"


def _run(capsys, *argv: str) -> tuple[int, str]:
    """main() in-process: the exit code, and the single error line when it is 2."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if code == 2:
        errors = [l for l in err.strip().splitlines() if l.startswith("error: ")]
        assert len(errors) == 1, err
        return code, errors[0]
    return code, err


def _boom(*a, **k):
    raise AssertionError("work started before the existing output was refused")


REACHED = "the work was reached"


def _reached(*a, **k):
    """Stands in for the work when a test only needs to know the checks let the run through."""
    from core.errors import UserInputError

    raise UserInputError(REACHED)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if any command's analysis, rendering or training starts."""
    import core.commands.emotion as emotion_commands
    import core.emotion.ser_train as ser_train
    import core.eval as eval_pkg
    import core.io.audio as audio
    import core.pipeline as pipeline
    import core.project as project

    for mod, name in ((pipeline, "analyse"), (pipeline, "render_tracks"), (project, "analyse_project"),
                      (project, "render_project"), (emotion_commands, "analyse_file"), (audio, "load_audio"),
                      (eval_pkg, "evaluate"), (ser_train, "train")):
        monkeypatch.setattr(mod, name, _boom)


def _media(tmp_path, sample_image, short_audio):
    img, wav = tmp_path / "face.png", tmp_path / "speech.wav"
    shutil.copy(sample_image, img)
    shutil.copy(short_audio, wav)
    return img, wav


def _mine(path):
    """An existing file of the user's; its bytes, inode and mtime to compare with afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(OLD)
    os.utime(path, (1_000_000, 1_000_000))
    st = path.stat()
    return st.st_ino, st.st_mtime


def _untouched(path, before) -> None:
    st = path.stat()
    assert path.read_bytes() == OLD and (st.st_ino, st.st_mtime) == before


def _no_temps(folder) -> None:
    """Nothing hidden left beside the outputs (temporary files are '.NAME.PID~XXXX...')."""
    left = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert left == [], left


def _refused(line: str, path, setting: str) -> None:
    assert f"{path} already exists" in line, line
    assert "--overwrite (-y)" in line and f"choose another {setting}" in line, line


# -- render -o -----------------------------------------------------------------------------------
def test_render_refuses_an_existing_output_before_any_work(tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    out = tmp_path / "out" / "x.mp4"
    before = _mine(out)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(out))
    assert code == 2
    _refused(line, out, "-o")
    _untouched(out, before)
    _no_temps(out.parent)
    _no_temps(tmp_path)


def test_render_refuses_a_link_at_the_output_even_a_dangling_one(tmp_path, capsys, no_work, sample_image,
                                                                 short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    out = tmp_path / "x.mp4"
    out.symlink_to(tmp_path / "gone.mp4")
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(out))
    assert code == 2
    _refused(line, out, "-o")
    assert out.is_symlink() and not (tmp_path / "gone.mp4").exists()


@pytest.mark.parametrize("flag", ["--overwrite", "-y"])
def test_render_with_the_flag_replaces_the_output_atomically(tmp_path, capsys, sample_image, short_audio, flag):
    from core.io.video import probe

    img, wav = _media(tmp_path, sample_image, short_audio)
    out = tmp_path / "x.mp4"
    before = _mine(out)
    code, err = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "--size", "64",
                     "--max-output", "64", flag, "-o", str(out))
    assert code == 0, err
    assert out.read_bytes() != OLD and probe(out).video_codec == "h264"
    assert out.stat().st_ino != before[0]   # a new file renamed over it, not the old one rewritten
    _no_temps(tmp_path)


def test_the_output_that_is_an_input_stays_refused_with_the_flag(tmp_path, capsys, no_work, sample_image,
                                                                  short_audio):
    img = tmp_path / "face.png"
    shutil.copy(sample_image, img)
    video = tmp_path / "talk.mp4"           # a video used as the narration
    shutil.copy(short_audio, video)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(video), "--overwrite", "-o", str(video))
    assert code == 2 and "-o is the same file as --audio" in line, line
    assert video.read_bytes() == short_audio.read_bytes()
    tracks = tmp_path / "tracks.json"
    tracks.write_bytes(OLD)
    code, line = _run(capsys, "render", "--load-tracks", str(tracks), "--save-tracks", str(tracks), "-y",
                      "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "--save-tracks is the same file as --load-tracks" in line, line
    assert tracks.read_bytes() == OLD and not (tmp_path / "o.mp4").exists()
    _no_temps(tmp_path)


# -- render --save-tracks ------------------------------------------------------------------------------
def test_render_refuses_an_existing_tracks_file(tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    tracks, out = tmp_path / "tracks.json", tmp_path / "new.mp4"
    before = _mine(tracks)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "--save-tracks", str(tracks),
                      "-o", str(out))
    assert code == 2
    _refused(line, tracks, "--save-tracks")
    _untouched(tracks, before)
    assert not out.exists()
    _no_temps(tmp_path)


def test_render_with_the_flag_gets_past_both_checks(tmp_path, capsys, monkeypatch, sample_image, short_audio):
    """-y covers the video and the tracks file: the run reaches the analysis with both existing."""
    import core.pipeline as pipeline

    monkeypatch.setattr(pipeline, "analyse", _reached)
    img, wav = _media(tmp_path, sample_image, short_audio)
    tracks, out = tmp_path / "tracks.json", tmp_path / "x.mp4"
    _mine(tracks), _mine(out)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "--save-tracks", str(tracks),
                      "-y", "-o", str(out))
    assert code == 2 and REACHED in line, line


# -- render --project ------------------------------------------------------------------------------------
def _project(tmp_path, sample_image, short_audio, output: str = "") -> str:
    from core.project import Project

    img, wav = _media(tmp_path, sample_image, short_audio)
    doc = Project(name="p", portrait=str(img), narration=str(wav)).to_dict()
    doc["export"].update(output=output, size=64, max_output=64)
    f = tmp_path / "p.srproj"
    f.write_text(json.dumps(doc))
    return str(f)


@pytest.mark.parametrize("where", ["beside", "export.output", "-o"])
def test_project_refuses_an_existing_export_path(tmp_path, capsys, no_work, sample_image, short_audio, where):
    target = {"beside": tmp_path / "p.mp4", "export.output": tmp_path / "exports" / "talk.mp4",
              "-o": tmp_path / "mine.mp4"}[where]
    f = _project(tmp_path, sample_image, short_audio, str(target) if where == "export.output" else "")
    before = _mine(target)
    args = ["-o", str(target)] if where == "-o" else []
    code, line = _run(capsys, "render", "--project", f, *args)
    assert code == 2
    _refused(line, target, "-o")
    _untouched(target, before)
    _no_temps(tmp_path)
    _no_temps(target.parent)


def test_project_with_the_flag_replaces_its_export(tmp_path, capsys, sample_image, short_audio):
    from core.io.video import probe

    f = _project(tmp_path, sample_image, short_audio)
    out = tmp_path / "p.mp4"                # the project's default export, beside it
    before = _mine(out)
    code, err = _run(capsys, "render", "--project", f, "--overwrite")
    assert code == 0, err
    assert out.read_bytes() != OLD and probe(out).n_frames > 0 and out.stat().st_ino != before[0]
    _no_temps(tmp_path)


# -- analyze --save-tracks --------------------------------------------------------------------------------
def test_analyze_refuses_an_existing_tracks_file(tmp_path, capsys, no_work, short_audio):
    tracks = tmp_path / "emotion.json"
    before = _mine(tracks)
    code, line = _run(capsys, "analyze", "--audio", str(short_audio), "--save-tracks", str(tracks))
    assert code == 2
    _refused(line, tracks, "--save-tracks")
    _untouched(tracks, before)
    _no_temps(tmp_path)


def test_analyze_tracks_file_that_is_the_audio_stays_refused(tmp_path, capsys, no_work, short_audio):
    wav = tmp_path / "speech.wav"
    shutil.copy(short_audio, wav)
    code, line = _run(capsys, "analyze", "--audio", str(wav), "--save-tracks", str(wav), "--overwrite")
    assert code == 2 and "--save-tracks is the same file as --audio" in line, line
    assert wav.read_bytes() == short_audio.read_bytes()


def test_analyze_with_the_flag_replaces_the_tracks_file(tmp_path, capsys, short_audio):
    tracks = tmp_path / "emotion.json"
    before = _mine(tracks)
    code, err = _run(capsys, "analyze", "--audio", str(short_audio), "--save-tracks", str(tracks), "-y")
    assert code == 0, err
    doc = json.loads(tracks.read_text())
    assert doc["kind"] == "synchrorama-emotion-tracks" and tracks.stat().st_ino != before[0]
    _no_temps(tmp_path)


# -- suggest-scenes -o, eval --report, train-ser --report ---------------------------------------------------
def test_suggest_scenes_refuses_an_existing_output(tmp_path, capsys, no_work, short_audio):
    out = tmp_path / "scenes.json"
    before = _mine(out)
    code, line = _run(capsys, "suggest-scenes", "--audio", str(short_audio), "--backend", "rules", "-o", str(out))
    assert code == 2
    _refused(line, out, "-o")
    _untouched(out, before)


def test_suggest_scenes_with_the_flag_replaces_it(tmp_path, capsys, short_audio):
    out = tmp_path / "scenes.json"
    _mine(out)
    code, err = _run(capsys, "suggest-scenes", "--audio", str(short_audio), "--backend", "rules", "-y",
                     "-o", str(out))
    assert code == 0, err
    assert isinstance(json.loads(out.read_text())["segments"], list)
    _no_temps(tmp_path)


def test_eval_refuses_a_report_folder_holding_an_earlier_report(tmp_path, capsys, no_work):
    video, report = tmp_path / "v.mp4", tmp_path / "report"
    video.write_bytes(b"")
    before = _mine(report / "eval.json")
    code, line = _run(capsys, "eval", str(video), "--report", str(report))
    assert code == 2
    _refused(line, report / "eval.json", "--report folder")
    _untouched(report / "eval.json", before)
    blocker = tmp_path / "notes.txt"
    blocker.write_bytes(OLD)
    code, line = _run(capsys, "eval", str(video), "--report", str(blocker), "--overwrite")
    assert code == 2 and "--report is a file, not a folder" in line and blocker.read_bytes() == OLD


def test_eval_with_the_flag_reaches_the_measuring(tmp_path, monkeypatch, capsys):
    import core.eval as eval_pkg

    seen = []
    monkeypatch.setattr(eval_pkg, "evaluate", lambda video, **k: seen.append(k["report_dir"]) or _reached())
    report = tmp_path / "report"
    _mine(report / "mouth.png")
    code, line = _run(capsys, "eval", str(tmp_path / "v.mp4"), "--report", str(report), "-y")
    assert code == 2 and REACHED in line and seen == [report], line


def test_train_ser_refuses_an_existing_report(tmp_path, capsys, no_work):
    report = tmp_path / "ser_report.json"
    before = _mine(report)
    code, line = _run(capsys, "train-ser", "--data", str(tmp_path), "--no-cv", "--report", str(report))
    assert code == 2
    _refused(line, report, "--report")
    _untouched(report, before)


# -- every such command has the flag -----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["render", "analyze", "suggest-scenes", "eval", "train-ser"])
def test_every_writing_command_has_the_flag(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "-y, --overwrite" in out, out
