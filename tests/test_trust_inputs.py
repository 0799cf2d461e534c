"""Inputs and outputs a user can trust (issue 16), second part: curve files, large and sideways
portraits, loopback LLM calls past a proxy, and room on the disk for the export. Bad input is exit 2
and one line naming the file or setting and the fix; nothing is written under the output's name."""

from __future__ import annotations

import json
import shutil

import pytest

from core.cli import main
from core.errors import UserInputError


def _run(capsys, *argv: str) -> tuple[int, str]:
    """main() in-process; the exit code and, for exit 2, the single error line."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if code == 2:
        errors = [l for l in err.strip().splitlines() if l.startswith("error: ")]
        assert len(errors) == 1, err
        return code, errors[0]
    return code, err


# -- emotion curve files: types, NaN, order and names --------------------------------------------
def _curves(**channels) -> dict:
    return {"kind": "synchrorama-emotion-curves", "version": 1, "channels": channels}


_GOOD_KEYS = [{"t": 0, "v": 0.0}, {"t": 2.0, "v": 0.8}]

CURVE_CASES = [
    ({**_curves(valence=_GOOD_KEYS), "version": "one"}, ["'version' is 'one', not a whole number", 'Set "version": 1']),
    (_curves(valence=[{"t": 0, "v": 0}, {"t": "2", "v": 0.5}]),
     ["channel 'valence' key 1: 't' is '2', not a number", "plain number"]),
    (_curves(arousal=[{"t": 0, "v": float("nan")}]), ["channel 'arousal' key 0: 'v' is nan, not a finite number"]),
    (_curves(happy=[{"t": 0, "v": 0.2}, {"t": 3, "v": 0.5}, {"t": 1.5, "v": 0.9}]),
     ["channel 'happy' key 2 (t=1.5 s) comes before key 1 (t=3 s)", "time order"]),
    (_curves(hapy=_GOOD_KEYS), ["unknown channel 'hapy'", "Did you mean 'happy'?"]),
    (_curves(valence=[{"t": 0, "v": 0, "interp": "bezier", "out": "fast"}, {"t": 1, "v": 1}]),
     ["channel 'valence' key 0: 'out' is 'fast', not [seconds, value]", '"out": [0.5, 0.0]']),
    (_curves(valence={"keys": 5}), ["channel 'valence': 'keys' is 5, not a list"]),
    (_curves(valence={"amount": True, "keys": _GOOD_KEYS}), ["channel 'valence': 'amount' is True, not a number"]),
    (_curves(valence={"mode": "multiply", "keys": _GOOD_KEYS}), ["mode is 'multiply'", "override, add"]),
    (_curves(sad={"keys": []}), ["channel 'sad' has no keys", "remove the channel"]),
    (_curves(valence=[{"t": -1, "v": 0}]), ["'t' is -1, before the start"]),
]


@pytest.mark.parametrize("doc, words", CURVE_CASES, ids=[w[0][:30] for _, w in CURVE_CASES])
def test_curve_file_errors_are_one_line_before_any_work(tmp_path, capsys, no_work, doc, words):
    f = tmp_path / "curves.json"
    f.write_text(json.dumps(doc))   # json writes NaN as the bare token NaN, which json.loads reads back
    out = tmp_path / "o.mp4"
    code, line = _run(capsys, "render", "--emotion-curve", str(f), "-o", str(out))
    assert code == 2, line
    assert str(f) in line and "emotion curves:" in line
    for w in words:
        assert w in line, line
    assert not out.exists()


@pytest.mark.parametrize("content, words", [("{\n  \"channels\": {,\n}", "not valid JSON (line 2, column 16"),
                                            (None, "is a folder, not an emotion curves file")])
def test_curve_file_that_cannot_be_read(tmp_path, capsys, no_work, content, words):
    f = tmp_path / "curves.json"
    if content is None:
        f.mkdir()
    else:
        f.write_text(content)
    code, line = _run(capsys, "render", "--emotion-curve", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and words in line and str(f) in line, line


def test_project_with_bad_curves_names_the_project(tmp_path, capsys, no_work, sample_image, short_audio):
    from core.project import Project

    doc = Project(name="p", portrait=str(sample_image), narration=str(short_audio)).to_dict()
    doc["emotion"]["curves"] = _curves(valence=[{"t": 0, "v": "high"}])
    f = tmp_path / "p.srproj"
    f.write_text(json.dumps(doc))
    code, line = _run(capsys, "render", "--project", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "p.srproj" in line and "channel 'valence' key 0: 'v' is 'high', not a number" in line


def test_good_curve_file_still_loads(tmp_path):
    from core.emotion.curves import load_curves

    f = tmp_path / "c.json"
    f.write_text(json.dumps(_curves(valence={"mode": "add", "amount": 0.5, "keys": [
        {"t": 0, "v": 0.0, "interp": "bezier", "out": [0.5, 0.1]}, {"t": 2, "v": 2.0, "in": [-0.5, 0]},
        {"t": 2, "v": 0.3}]})))   # equal times are a step; out-of-range values are clipped, as before
    c = load_curves(f).channels["valence"]
    assert [k.t for k in c.keys] == [0, 2, 2] and c.keys[1].v == 1.0 and c.amount == 0.5
    assert c.keys[0].out_handle == (0.5, 0.1)


def test_saving_curves_over_a_file_is_atomic(tmp_path, monkeypatch):
    """A save that fails (here: the disk fills at fsync) keeps the previous file whole and leaves no temp file."""
    import errno

    import core.io.files as files
    from core.emotion.curves import Channel, Curves, Key
    from core.errors import DiskFullError

    f = tmp_path / "c.json"
    Curves({"valence": Channel([Key(0, 0.5)])}).save(f)
    before = f.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(DiskFullError):
        Curves({"arousal": Channel([Key(0, -0.5)])}).save(f)
    assert f.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["c.json"]


# -- the scene LLM on this machine is reached directly, never through a proxy -------------------------
class _Recorder:
    """A tiny HTTP server on 127.0.0.1 that records every request; ``answer`` gives (status, body, headers)."""

    def __init__(self, answer):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, str]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                rec.requests.append((self.command, self.path))
                status, body, headers = answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_CONNECT = _reply

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _llm(path):
    if path.endswith("/models"):
        return 200, {"data": [{"id": "local-model"}]}, {}
    return 200, {"choices": [{"message": {"content": "nods slightly"}}]}, {}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_llm_calls_ignore_the_environments_proxy(monkeypatch, host):
    from core.scene.backends import BackendConfig, OpenAIBackend, SegmentContext

    with _Recorder(lambda p: (502, {"error": "proxy"}, {})) as proxy, _Recorder(_llm) as llm:
        bogus = f"http://127.0.0.1:{proxy.port}"
        for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.setenv(var, bogus)
        for var in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(var, raising=False)   # urllib would otherwise skip the proxy for localhost
        b = OpenAIBackend(BackendConfig("openai", f"http://{host}:{llm.port}/v1", timeout=5, retries=0))
        assert b.describe(SegmentContext(0, 2, "hello there")) == "nods slightly"
    assert proxy.requests == []
    assert llm.requests == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]


def test_a_remote_server_still_goes_through_the_proxy(monkeypatch):
    """The user allowed a remote host: the environment's proxy may be how it is reached, so it is used.
    (The proxy here answers for the unreachable host, so nothing leaves this machine.)"""
    from core.scene.backends import BackendConfig, OpenAIBackend, SegmentContext

    with _Recorder(_llm) as proxy:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        b = OpenAIBackend(BackendConfig("openai", "http://llm.invalid:8080/v1", allow_remote=True, model="m",
                                        timeout=5, retries=0))
        assert b.describe(SegmentContext(0, 2, "hello")) == "nods slightly"
    assert proxy.requests == [("POST", "http://llm.invalid:8080/v1/chat/completions")]


def test_a_loopback_server_redirecting_elsewhere_is_not_followed(monkeypatch):
    from core.scene.backends import BackendConfig, BackendUnavailable, OpenAIBackend, SegmentContext

    with _Recorder(_llm) as elsewhere, \
            _Recorder(lambda p: (302, {}, {"Location": f"http://127.0.0.2:{elsewhere.port}{p}"})) as llm:
        b = OpenAIBackend(BackendConfig("openai", f"http://127.0.0.1:{llm.port}/v1", model="m", timeout=5,
                                        retries=2))
        with pytest.raises(BackendUnavailable, match=r"redirected the request to http://127\.0\.0\.2.*--url"):
            b.describe(SegmentContext(0, 2, "hello"))
    assert elsewhere.requests == [] and len(llm.requests) == 1


# -- a sideways or upside-down portrait: say which way to rotate it -------------------------------------
def _turned(tmp_path, sample_image, k: int, exif_orientation: int | None = None):
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(sample_image).convert("RGB"))
    path = tmp_path / f"turned{k}.jpg"
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation
    Image.fromarray(np.ascontiguousarray(np.rot90(img, k))).save(path, quality=95, exif=exif)
    return path


@pytest.mark.parametrize("k, words", [(1, "Rotate the photo 90 degrees clockwise"),
                                      (3, "Rotate the photo 90 degrees counter-clockwise"),
                                      (2, "Rotate the photo 180 degrees")])
def test_turned_portrait_says_which_way_to_rotate_it(tmp_path, sample_image, k, words):
    """np.rot90(k=1) turns the photo a quarter counter-clockwise: a clockwise turn puts it right."""
    from core.face.rig import load_rig

    path = _turned(tmp_path, sample_image, k)
    with pytest.raises(UserInputError) as err:
        load_rig(path)
    assert words in str(err.value) and str(path) in str(err.value), str(err.value)


def test_exif_orientation_is_honoured_before_looking_for_the_face(tmp_path, sample_image):
    """The same sideways pixels tagged 'rotate 90 clockwise to display' (a phone photo) are upright."""
    from core.face.rig import face_roll, load_rig

    rig = load_rig(_turned(tmp_path, sample_image, 1, exif_orientation=6))
    assert abs(face_roll(rig.landmarks)) < 15


def test_turned_portrait_on_the_command_line(tmp_path, capsys, short_audio, sample_image):
    path = _turned(tmp_path, sample_image, 2)
    out = tmp_path / "o.mp4"
    code, line = _run(capsys, "render", "--image", str(path), "--audio", str(short_audio), "-o", str(out))
    assert code == 2 and "upside down" in line and "Rotate the photo 180 degrees" in line
    assert not out.exists()


def test_upright_portraits_are_not_told_to_rotate(sample_image):
    from core.face.rig import face_roll, load_rig

    assert abs(face_roll(load_rig(sample_image).landmarks)) < 15


# -- large portraits are scaled down for the work, with a note -------------------------------------------
# The limits are lowered so the 512x512 sample stands in for a 30-megapixel photo (or a close-up whose
# face area is thousands of pixels across) without allocating one.
def test_portrait_over_the_working_size_is_scaled_with_a_note(monkeypatch, sample_image):
    import core.io.image as image
    from core.face.rig import load_rig

    monkeypatch.setattr(image, "WORK_MAX_PIXELS", 100_000)
    rig = load_rig(sample_image)
    assert rig.size == (316, 316) and rig.image.shape == (316, 316, 3)
    assert 0 < rig.box.x0 < rig.box.x1 < 316 and 0 < rig.box.y0 < rig.box.y1 < 316   # points follow the image
    assert len(rig.notes) == 1
    note = rig.notes[0]
    assert "portrait.png is 512x512" in note and "scaled to 316x316" in note and "at most 316x316" in note


def test_portrait_whose_face_area_is_far_larger_than_needed_is_scaled(monkeypatch, sample_image):
    import core.face.rig as rig_mod

    full = rig_mod.load_rig(sample_image)
    assert full.notes == [] and full.crop[2] > 400       # the sample as it is: no note
    monkeypatch.setattr(rig_mod, "WORK_MAX_CROP", 300)
    rig = rig_mod.load_rig(sample_image)
    s = rig.size[0] / 512
    assert rig.crop[2] <= 301 and 0.6 < s < 0.75
    assert abs(rig.landmarks[1, 0] - full.landmarks[1, 0] * s) < 1.0            # the same face, scaled
    assert "its face area is" in rig.notes[0] and f"scaled to {rig.size[0]}x{rig.size[1]}" in rig.notes[0]


def test_large_jpeg_with_exif_orientation_is_scaled_upright(monkeypatch, tmp_path, sample_image):
    """A sideways-stored phone JPEG (EXIF 6) decoded at a reduced scale keeps its upright shape."""
    import numpy as np
    from PIL import Image

    import core.io.image as image

    src = np.asarray(Image.open(sample_image).convert("RGB").resize((1536, 2048)))   # upright, portrait shape
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(src, 1))).save(path, quality=95, exif=exif)
    arr, original = image.load_portrait(path, max_pixels=500_000)
    assert original == (1536, 2048) and arr.shape == (816, 612, 3)
    ref = image.resize_rgb(image.load_image(path), 612, 816)
    assert np.abs(arr.astype(int) - ref.astype(int)).mean() < 3     # the same picture, not a stretched one
    assert image.load_image(path).shape == (2048, 1536, 3)          # load_image itself keeps the full size


def test_render_prints_the_scaling_note_and_lists_it_in_json(monkeypatch, tmp_path, capsys, sample_image,
                                                              short_audio):
    import core.io.image as image

    monkeypatch.setattr(image, "WORK_MAX_PIXELS", 100_000)
    out = tmp_path / "o.mp4"
    code = main(["render", "--image", str(sample_image), "--audio", str(short_audio), "--size", "128", "--json",
                 "-o", str(out)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = json.loads(cap.out.strip().splitlines()[-1])
    notes = [w for w in summary["warnings"] if "scaled to 316x316" in w]
    assert len(notes) == 1 and f"note: {notes[0]}" in cap.err
    assert (summary["width"], summary["height"]) == (316, 316)


# -- room on the disk for the video, estimated before any work --------------------------------------------
@pytest.fixture
def disk_free(monkeypatch):
    """Make every disk report ``free[0]`` bytes free (a real nearly-full disk needs a mount)."""
    import collections

    free = [10**12]
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 10**12 - free[0], free[0]))
    return free


def test_estimate_is_low_but_follows_size_length_and_quality():
    from core.io.checks import estimate_video_bytes

    sample = estimate_video_bytes(15.2, 512, 512, 25, 18)
    assert 0.2e6 < sample < 0.868e6        # the 15-s sample's export measured 868 KB
    big = estimate_video_bytes(15.2, 2048, 2048, 25, 18)
    assert 2e6 < big < 18.2e6              # lp_s2 at 2048 px: 18.2 MB
    assert estimate_video_bytes(15.2, 2048, 2048, 25, 30) < 1.57e6   # and 1.57 MB at crf 30
    assert estimate_video_bytes(30.4, 512, 512, 25, 18) > 1.9 * sample - 70_000
    assert estimate_video_bytes(15.2, 512, 512, 25, 0) > 10 * sample


def test_cli_refuses_a_disk_too_small_for_the_video_before_any_work(tmp_path, capsys, no_work, disk_free,
                                                                     sample_image, short_audio):
    disk_free[0] = 1_300_000     # above the 1 MiB "disk is full" floor, below ~1.7 MB for 3 s at crf 0
    out = tmp_path / "o.mp4"
    code, line = _run(capsys, "render", "--image", str(sample_image), "--audio", str(short_audio), "--crf", "0",
                      "-o", str(out))
    assert code == 2, line
    assert f"not enough free space on {tmp_path}: need at least ~1.7 MB for this video, have 1.3 MB" in line
    assert "choose another folder for -o" in line and list(tmp_path.iterdir()) == []


def test_room_check_passes_when_the_video_fits(tmp_path, disk_free, sample_image, short_audio):
    from core.io.checks import check_room_for_video

    disk_free[0] = 1_300_000
    check_room_for_video(tmp_path / "o.mp4", image=sample_image, audio=short_audio, fps=25, crf=18)  # ~0.2 MB
    with pytest.raises(UserInputError, match="need at least"):
        check_room_for_video(tmp_path / "o.mp4", image=sample_image, audio=short_audio, fps=25, crf=0)
    # a cap on the output's size shrinks the need below what the disk has
    check_room_for_video(tmp_path / "o.mp4", image=sample_image, audio=short_audio, fps=25, crf=0, max_output=256)


def test_project_export_refuses_a_disk_too_small(tmp_path, capsys, no_work, disk_free, sample_image, short_audio):
    from core.project import ExportOptions, Project

    f = Project(name="p", portrait=str(sample_image), narration=str(short_audio),
                export=ExportOptions(crf=0)).save(tmp_path / "p")
    disk_free[0] = 1_300_000
    code, line = _run(capsys, "render", "--project", str(f))
    assert code == 2 and "not enough free space" in line and "the project's export.output" in line, line


def test_export_refuses_a_disk_too_small_and_leaves_nothing(tmp_path, disk_free, short_audio):
    """The encoder's own check, with the exact frame size, for every caller (the studio's export too)."""
    from core.io.video import ExportSettings, Mp4Writer

    disk_free[0] = 1_300_000
    with pytest.raises(UserInputError, match=r"not enough free space .* need at least ~1\.7 MB"):
        with Mp4Writer(tmp_path / "v.mp4", 512, 512, short_audio, ExportSettings(fps=25, crf=0)):
            raise AssertionError("the encoder started")
    assert list(tmp_path.iterdir()) == []


# -- the rest of the corpus: every bad input is exit 2 and one line (these were exit 1 with a traceback's
# last line: IsADirectoryError, "cannot convert float NaN to integer", "expected non-negative integer"...)
@pytest.mark.parametrize("args, words", [
    (["--script", "@{tmp}"], "is a folder, not a script file"),
    (["--scenes", "{tmp}"], "is a folder, not a scenes file"),
    (["--load-tracks", "{tmp}"], "is a folder, not a tracks file"),
    (["--scene", "1:99:3-5: nods"], "cannot read the times of scene '1:99:3-5: nods'"),
    (["--scene", "1.5:30-2:00: nods"], "h:mm:ss"),
    (["--seed", "-5"], "--seed -5 is negative"),
    (["--emotion-strength", "nan"], "--emotion-strength is nan, not a finite number"),
    (["--emotion-strength", "4"], "--emotion-strength 4 is out of range"),
])
def test_bad_flags_are_one_line_before_any_work(tmp_path, capsys, no_work, sample_image, short_audio, args, words):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, line = _run(capsys, "render", "--image", str(sample_image), "--audio", str(short_audio), *args,
                      "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and words in line, line


def test_scene_times_in_hours_minutes_and_seconds():
    from core.commands.common import parse_scene, parse_time

    assert parse_time("12.5") == 12.5 and parse_time("1:02.5") == 62.5 and parse_time("1:02:03") == 3723
    seg = parse_scene("1:05-1:09.5: nods")
    assert (seg.start, seg.end, seg.text) == (65, 69.5, "nods")


def test_scenes_file_with_a_nan_time(tmp_path, capsys, no_work):
    f = tmp_path / "scenes.json"
    f.write_text('{"segments": [{"start": NaN, "end": 2, "text": "nods"}]}')
    code, line = _run(capsys, "render", "--scenes", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "scene 1's start is nan, not a finite number" in line and "scenes.json" in line


def test_tracks_file_whose_schema_is_not_a_number(tmp_path, capsys):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"kind": "synchrorama-tracks", "schema": "two"}))
    code, line = _run(capsys, "render", "--load-tracks", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "the tracks file's schema is 'two', not a whole number" in line


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(seed=-5), "the project's seed -5 is negative"),
    (lambda d: d["emotion"].update(strength=float("nan")), "the project's emotion.strength is nan, not a finite"),
    (lambda d: d["emotion"].update(strength=7), "the project's emotion.strength 7 is out of range"),
    (lambda d: d.update(scenes={"segments": [{"start": float("inf"), "end": 2, "text": "x"}]}), "its scene 1 is"),
    (lambda d: d.update(alignment={"words": "x"}), "the project's alignment (its word and phone timings) is damaged"),
])
def test_project_values_that_failed_late_or_in_python_words(tmp_path, capsys, no_work, sample_image, short_audio,
                                                             change, words):
    from core.project import Project

    doc = Project(name="p", portrait=str(sample_image), narration=str(short_audio)).to_dict()
    change(doc)
    f = tmp_path / "p.srproj"
    f.write_text(json.dumps(doc))
    code, line = _run(capsys, "render", "--project", str(f), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and words in line and "p.srproj" in line and "Error" not in line, line


def test_analyze_reads_the_script_like_render(tmp_path, capsys, short_audio):
    code, line = _run(capsys, "analyze", "--audio", str(short_audio), "--script", f"@{tmp_path}")
    assert code == 2 and "is a folder, not a script file" in line
