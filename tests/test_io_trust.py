"""Inputs and outputs a user can trust (issue 16): bad paths and settings give exit 2 and one line,
before any analysis, and nothing the user owns is overwritten or left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat

import pytest

from core.cli import main


def _run(capsys, *argv: str) -> tuple[int, str]:
    """main() in-process; the exit code and the single error line (asserted to be one)."""
    code = main(list(argv))
    err = capsys.readouterr().err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert "Traceback" not in err, err
    if code == 2:
        errors = [l for l in lines if l.startswith("error: ")]
        assert len(errors) == 1, err   # progress lines ("face: 0%") may come before it
        return code, errors[0]
    return code, err


def _media(tmp_path, sample_image, short_audio):
    img = tmp_path / "face.png"
    wav = tmp_path / "speech.wav"
    shutil.copy(sample_image, img)
    shutil.copy(short_audio, wav)
    return img, wav


# -- item 1: where the output goes ----------------------------------------------------------
def test_output_that_is_a_folder(tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    folder = tmp_path / "clip.mp4"
    folder.mkdir()
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(folder))
    assert code == 2 and "-o is a folder" in line and "file name" in line
    assert folder.is_dir() and not any(folder.iterdir())


def test_output_whose_parent_is_a_file(tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav),
                      "-o", str(blocker / "sub" / "out.mp4"))
    assert code == 2 and "is a file, not a folder" in line and "notes.txt" in line
    assert blocker.read_text() == "mine"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user (root writes to read-only folders)")
def test_output_in_a_read_only_folder(tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(ro / "o.mp4"))
    finally:
        ro.chmod(0o755)
    assert code == 2 and "not writable" in line and not list(ro.iterdir())


def test_output_on_a_read_only_file_system(tmp_path, capsys, no_work, monkeypatch, sample_image, short_audio):
    """The probe that finds read-only mounts: simulated, since mounting one needs privileges."""
    import errno

    import core.io.checks as checks

    img, wav = _media(tmp_path, sample_image, short_audio)

    def erofs(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(checks.tempfile, "mkstemp", erofs)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "not writable" in line and "Read-only file system" in line


def test_output_same_as_the_narration_is_refused_and_the_source_kept(tmp_path, capsys, no_work, sample_image,
                                                                     short_audio):
    img = tmp_path / "face.png"
    shutil.copy(sample_image, img)
    video = tmp_path / "talk.mp4"       # a video used as the narration
    shutil.copy(short_audio, video)
    before = video.read_bytes()
    # the same file named three ways: verbatim, through "..", and through a hard link
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.mp4"
    os.link(video, link)
    for out in (video, tmp_path / "sub" / ".." / "talk.mp4", link):
        code, line = _run(capsys, "render", "--image", str(img), "--audio", str(video), "-o", str(out))
        assert code == 2 and "same file as --audio" in line and "another output name" in line, line
    assert video.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "link.mp4", "sub", "talk.mp4"]


def test_output_same_as_the_image(tmp_path, capsys, no_work, sample_image, short_audio):
    _, wav = _media(tmp_path, sample_image, short_audio)
    img = tmp_path / "still.mp4"
    shutil.copy(sample_image, img)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(img))
    assert code == 2 and "same file as --image" in line
    assert img.read_bytes() == sample_image.read_bytes()


def test_project_output_same_as_its_narration(tmp_path, capsys, no_work, sample_image, short_audio):
    from core.project import ExportOptions, Project

    img = tmp_path / "face.png"
    shutil.copy(sample_image, img)
    video = tmp_path / "talk.mp4"
    shutil.copy(short_audio, video)
    f = Project(name="p", portrait=str(img), narration=str(video),
                export=ExportOptions(output=str(video))).save(tmp_path / "p")
    code, line = _run(capsys, "render", "--project", str(f))
    assert code == 2 and "export.output is the same file as the project's narration" in line
    code, line = _run(capsys, "render", "--project", str(f), "-o", str(video))
    assert code == 2 and "-o is the same file as the project's narration" in line
    assert video.read_bytes() == short_audio.read_bytes()


# -- item 4: settings validated whatever their source ---------------------------------------
@pytest.mark.parametrize("args, name", [(["--crf", "99"], "--crf 99"), (["--crf", "-5"], "--crf -5"),
                                        (["--max-output", "-5"], "--max-output -5"), (["--fps", "0"], "--fps 0"),
                                        (["--fps", "1000"], "--fps 1000"), (["--size", "10"], "--size 10")])
def test_cli_export_flags_out_of_range(tmp_path, capsys, no_work, args, name):
    out = tmp_path / "o.mp4"
    code, line = _run(capsys, "render", *args, "-o", str(out))
    assert code == 2 and name in line and "out of range" in line and "Use " in line
    assert not out.exists()


def test_analyze_fps_zero(tmp_path, capsys, short_audio):
    code, line = _run(capsys, "analyze", "--audio", str(short_audio), "--fps", "0")
    assert code == 2 and "--fps 0 is out of range" in line


def _project_file(tmp_path, sample_image, short_audio, **export) -> str:
    from core.project import Project

    img, wav = _media(tmp_path, sample_image, short_audio)
    doc = Project(name="p", portrait=str(img), narration=str(wav)).to_dict()
    doc["export"].update(export)
    f = tmp_path / "p.srproj"
    f.write_text(json.dumps(doc))
    return str(f)


@pytest.mark.parametrize("export, key", [({"fps": -5}, "export.fps -5 is out of range"),
                                         ({"fps": 1000}, "export.fps 1000 is out of range"),
                                         ({"fps": 0}, "export.fps 0 is out of range"),
                                         ({"size": "big"}, "export.size is 'big', not a whole number"),
                                         ({"size": 100000}, "export.size 100000 is out of range"),
                                         ({"crf": 99}, "export.crf 99 is out of range"),
                                         ({"crf": 1.5}, "export.crf is 1.5, not a whole number"),
                                         ({"max_output": -5}, "export.max_output -5 is out of range"),
                                         ({"renderer": "oil"}, "export.renderer is 'oil'")])
def test_project_export_settings_are_validated_before_analysis(tmp_path, capsys, no_work, sample_image,
                                                               short_audio, export, key):
    f = _project_file(tmp_path, sample_image, short_audio, **export)
    code, line = _run(capsys, "render", "--project", f, "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and key in line and "p.srproj" in line, line
    assert not (tmp_path / "o.mp4").exists()


def test_project_schema_that_is_not_a_number(tmp_path, capsys, sample_image, short_audio):
    f = _project_file(tmp_path, sample_image, short_audio)
    doc = json.loads(open(f).read())
    doc["schema"] = "two"
    open(f, "w").write(json.dumps(doc))
    code, line = _run(capsys, "render", "--project", f)
    assert code == 2 and "schema is 'two'" in line and "p.srproj" in line


# -- item 2: created files follow the umask -----------------------------------------------------
@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_project_follows_the_umask(tmp_path, umask_022):
    from core.project import Project

    f = Project(name="p").save(tmp_path / "p")
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    f.chmod(0o640)  # a mode the user chose on purpose is kept on the next save
    Project(name="p2", path=str(f)).save()
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_exported_mp4_follows_the_umask(tmp_path, umask_022):
    import numpy as np

    from core.io.video import ExportSettings, Mp4Writer

    out = tmp_path / "v.mp4"
    with Mp4Writer(out, 16, 16, None, ExportSettings(fps=5)) as w:
        w.write(np.zeros((16, 16, 3), np.uint8))
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


# -- item 3: what a killed run leaves behind --------------------------------------------------------
_KILLED_WRITER = r"""
import os, signal, sys, time
import numpy as np
from core.io.video import ExportSettings, Mp4Writer

w = Mp4Writer(sys.argv[1], 16, 16, None, ExportSettings(fps=5))
w.__enter__()
w.write(np.zeros((16, 16, 3), np.uint8))
holder = os.fork()   # keeps the encoder's input pipe open, as a worker process would: no EOF saves it
if holder == 0:
    os.close(1)
    os.close(2)   # the test reads the parent's output to its end: do not hold it open
    time.sleep(60)
    os._exit(0)
print(w._proc.pid, holder, flush=True)
os.kill(os.getpid(), signal.SIGKILL)   # a hard kill in the middle of an export
"""


def _gone(pid: int, wait_s: float = 20.0) -> bool:
    import time

    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True   # a zombie waiting for its reaper: it has exited
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc (PR_SET_PDEATHSIG is Linux-only)")
def test_killed_export_takes_its_encoder_along_and_the_next_run_cleans_up(tmp_path):
    import subprocess
    import sys

    from core.io.checks import check_output
    from tests.conftest import REPO

    out = tmp_path / "talk.mp4"
    mine = tmp_path / ".talk.mp4.notes"           # the user's own hidden file, not our naming
    mine.write_text("keep")
    other = tmp_path / ".other.mp4.1~abcdefgh.part.mp4"   # another output's part: not this run's business
    other.write_text("x")
    res = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(out)], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == -9, res.stderr
    encoder, holder = (int(x) for x in res.stdout.split())
    try:
        assert _gone(encoder), "ffmpeg outlived the process that started it"
    finally:
        os.kill(holder, signal.SIGKILL)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".talk.mp4.") and p != mine)
    assert len(left) == 1 and left[0].endswith(".part.mp4"), left   # ffmpeg's log is anonymous: no .log
    check_output(out, {})   # the start of the next run on the same output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])
    assert not out.exists()


def test_stale_cleanup_spares_live_runs_and_recent_legacy_parts(tmp_path):
    from core.io.files import remove_stale_temps

    out = tmp_path / "talk.mp4"
    live = tmp_path / f".talk.mp4.{os.getpid()}~abcdefgh.part.mp4"   # this process: still writing
    legacy_new = tmp_path / ".talk.a1b2c3d4.part.mp4"                # old naming, touched just now
    legacy_old = tmp_path / ".talk.z9y8x7w6.part.mp4.log"
    for f in (live, legacy_new, legacy_old):
        f.write_text("x")
    os.utime(legacy_old, (1, 1))
    assert remove_stale_temps(out) == [legacy_old]
    assert live.exists() and legacy_new.exists()


# -- item 5: tracks from another recording ----------------------------------------------------------
def _tracks_for(tmp_path, audio, image):
    from core.io.files import sha256_file
    from core.tracks import Alignment, EmotionTrack, MediaRef, MotionTrack, SceneTrack, Tracks

    t = Tracks(fps=25.0, duration=1.0, audio=MediaRef(str(audio), sha256_file(audio)),
               portrait=MediaRef(str(image), sha256_file(image)), alignment=Alignment(),
               emotion=EmotionTrack.neutral(25, 25.0), scenes=SceneTrack(), motion=MotionTrack.rest(25, 25.0))
    f = tmp_path / "tracks.json"
    t.save(f)
    return f


@pytest.fixture
def rendered(monkeypatch):
    """Stand-ins for the face rig and the encoder: these tests are about which audio is accepted."""
    import core.pipeline as pipeline
    from core.pipeline import RenderResult

    seen = []
    monkeypatch.setattr(pipeline, "load_rig", lambda *a, **k: object())

    def fake_render_tracks(rig, tracks, audio, output, **kw):
        seen.append(str(audio))
        return RenderResult(str(output), tracks.motion.n_frames, tracks.duration, 2, 2, {}, [])

    monkeypatch.setattr(pipeline, "render_tracks", fake_render_tracks)
    return seen


def test_load_tracks_over_another_narration_is_refused(tmp_path, capsys, rendered, sample_image, short_audio,
                                                      sample_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    tracks = _tracks_for(tmp_path, wav, img)
    other = tmp_path / "other.wav"
    shutil.copy(sample_audio, other)
    out = tmp_path / "o.mp4"
    code, line = _run(capsys, "render", "--load-tracks", str(tracks), "--audio", str(other), "-o", str(out))
    assert code == 2 and "analysed from another narration (speech.wav)" in line and "--allow-other-audio" in line
    assert rendered == [] and not out.exists()
    # the narration they were made from, even as a renamed copy, is accepted
    copy = tmp_path / "renamed.wav"
    shutil.copy(wav, copy)
    assert _run(capsys, "render", "--load-tracks", str(tracks), "--audio", str(copy), "-o", str(out))[0] == 0
    # the stored narration, edited in place since, is caught too
    wav.write_bytes(other.read_bytes())
    code, line = _run(capsys, "render", "--load-tracks", str(tracks), "-o", str(out))
    assert code == 2 and "another narration" in line
    # and the explicit override renders anyway
    assert _run(capsys, "render", "--load-tracks", str(tracks), "--audio", str(other), "--allow-other-audio",
                "-o", str(out))[0] == 0
    assert rendered == [str(copy), str(other)]


def test_allow_other_audio_needs_load_tracks(tmp_path, capsys, no_work):
    code, line = _run(capsys, "render", "--allow-other-audio", "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "--allow-other-audio only applies with --load-tracks" in line


# -- item 6: what is wrong with the narration, in words ------------------------------------------
def _silent_video(path):
    from core.io.ffmpeg import run_ffmpeg

    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=32x32:d=1", "-pix_fmt", "yuv420p", str(path)],
               check=True)
    return path


@pytest.mark.parametrize("case, words", [("empty", "is empty (0 bytes)"), ("image", "is an image, not audio"),
                                         ("silent-video", "the video has no audio track")])
def test_narration_problems_are_named(tmp_path, sample_image, case, words):
    from core.errors import UserInputError
    from core.io.audio import load_audio

    path = {"empty": tmp_path / "n.wav", "image": tmp_path / "n.png", "silent-video": tmp_path / "n.mp4"}[case]
    if case == "empty":
        path.write_bytes(b"")
    elif case == "image":
        shutil.copy(sample_image, path)
    else:
        _silent_video(path)
    with pytest.raises(UserInputError) as err:
        load_audio(path)
    assert words in str(err.value) and str(path) in str(err.value) and "Invalid argument" not in str(err.value)


@pytest.mark.parametrize("segment, words", [({"start": 0, "end": "two", "text": "nods"}, "scene 1's end is 'two'"),
                                            ({"start": True, "end": 2, "text": "nods"}, "scene 1's start is True"),
                                            ({"start": 0, "end": 2, "text": 5}, "scene 1's text is 5, not text")])
def test_scenes_file_with_wrong_types(tmp_path, capsys, no_work, segment, words):
    f = tmp_path / "scenes.json"
    f.write_text(json.dumps({"segments": [segment]}))
    code, line = _run(capsys, "render", "--scenes", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and words in line and "scenes.json" in line


# -- a disk that is full, or fills up during the export -------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs, or a skip saying why the machine does not allow one."""
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_full_disk_is_refused_before_work(small_disk, tmp_path, capsys, no_work, sample_image, short_audio):
    img, wav = _media(tmp_path, sample_image, short_audio)
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "-o", str(small_disk / "o.mp4"))
    assert code == 2 and "the disk is full" in line and "KiB free" in line
    assert list(small_disk.iterdir()) == []


def test_disk_filling_during_the_export_leaves_nothing(small_disk):
    import numpy as np

    from core.errors import DiskFullError
    from core.io.video import ExportSettings, Mp4Writer

    rng = np.random.default_rng(0)
    with pytest.raises(DiskFullError, match="the disk is full"):
        with Mp4Writer(small_disk / "v.mp4", 128, 128, None, ExportSettings(fps=25, crf=0)) as w:
            for _ in range(200):   # noise at crf 0: megabytes, far past the disk's 256 KiB
                w.write(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    assert list(small_disk.iterdir()) == []


# -- projects with wrong types, and a face index the portrait does not have -----------------------
@pytest.mark.parametrize("change, words", [((("face",), "two"), "the project's face is 'two'"),
                              ((("seed",), 1.5), "the project's seed is 1.5, not a whole number"),
                              ((("media", "narration"), 5), "the project's media.narration is 5"),
                              ((("emotion", "strength"), "lots"), "the project's emotion.strength is 'lots'")])
def test_project_with_wrong_types_names_the_key(tmp_path, capsys, no_work, sample_image, short_audio, change, words):
    f = _project_file(tmp_path, sample_image, short_audio)
    doc = json.loads(open(f).read())
    (keys, value) = change
    block = doc
    for k in keys[:-1]:
        block = block[k]
    block[keys[-1]] = value
    open(f, "w").write(json.dumps(doc))
    code, line = _run(capsys, "render", "--project", f)
    assert code == 2 and words in line and "p.srproj" in line and "Error:" not in line, line


def test_project_face_out_of_range_points_at_the_project_not_a_flag(tmp_path, capsys, sample_image, short_audio):
    f = _project_file(tmp_path, sample_image, short_audio)
    doc = json.loads(open(f).read())
    doc["face"] = 3
    open(f, "w").write(json.dumps(doc))
    code, line = _run(capsys, "render", "--project", f, "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "face 3 requested but 1 found" in line and 'Set "face" in the project to 0..0' in line
    assert "--face" not in line and not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("where, words", [("folder", "--save-tracks is a folder, not a tracks file"),
                                          ("audio", "--save-tracks is the same file as --audio"),
                                          ("output", "-o is the same file as --save-tracks")])
def test_save_tracks_destination_is_checked_before_analysis(tmp_path, capsys, no_work, sample_image, short_audio,
                                                            where, words):
    img, wav = _media(tmp_path, sample_image, short_audio)
    out = tmp_path / "o.mp4"
    target = {"folder": tmp_path, "audio": wav, "output": out}[where]
    code, line = _run(capsys, "render", "--image", str(img), "--audio", str(wav), "--save-tracks", str(target),
                      "-o", str(out))
    assert code == 2 and words in line, line
    assert wav.read_bytes() == short_audio.read_bytes() and not out.exists()


def test_pid_alive_tells_a_running_process_from_a_finished_one():
    import subprocess
    import sys

    from core.io.files import pid_alive

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert pid_alive(os.getpid()) and not pid_alive(0)
    assert not pid_alive(int(done.stdout))   # reaped: gone (a reused id would only make it look alive)


def test_image_over_the_pixel_limit_is_refused_before_decoding(monkeypatch, sample_image):
    """Pillow itself refuses only above twice its limit; the limit is lowered so the sample stands in
    for a 144-megapixel photo without allocating one."""
    import core.io.image as image
    from core.errors import UserInputError

    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # load_image sets it: restore after
    monkeypatch.setattr(image, "MAX_PIXELS", 200_000)   # the 512x512 sample has 262,144
    with pytest.raises(UserInputError, match=r"image is 512x512 \(0 megapixels\), more than the 0") as err:
        image.load_image(sample_image)
    assert "Downscale it first" in str(err.value)
