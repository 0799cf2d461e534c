"""The installer smoke test fails on warnings it did not expect (issue 17).

The warning filter (installer/smoke_warnings.py) is tested on its own, and
installer/smoke_test.sh is run end to end on a fake bundle (two small
scripts standing in for the frozen executables, and xvfb-run), so the
script's own logic is checked without the 11-minute PyInstaller build.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_filter():
    import importlib.util

    spec = importlib.util.spec_from_file_location("smoke_warnings", REPO / "installer" / "smoke_warnings.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sw = _load_filter()

SAMPLE_NOTE = "pronounced from spelling (not in the dictionary): synchrorama"
NRC = ("the NRC emotion lexicon (package nrclex) is not installed, so the script's words gave only their "
       "valence (VADER: happy or sad)")

STDERR = f"""face: 100%
render: 40%\rrender: 50%\rrender: 100%
encode: 100%
note: {SAMPLE_NOTE}
wrote /tmp/x/sample.mp4 (381 frames, 15.2 s, 512x512) in 8.1 s
"""


def test_the_sample_render_output_has_only_the_expected_note():
    assert sw.warnings_in_text(STDERR) == [SAMPLE_NOTE]
    assert sw.unexpected(sw.warnings_in_text(STDERR)) == []


@pytest.mark.parametrize("line, message", [
    (f"note: {NRC}", NRC),
    ("2026-12-02 10:00:01,123 WARNING core.emotion.text: the lexicon is missing", "the lexicon is missing"),
    ("2026-12-02 10:00:01,123 ERROR core.render.mesh: boom", "boom"),
    ("/x/librosa/core.py:12: UserWarning: PySoundFile failed. Trying audioread instead.",
     "UserWarning: PySoundFile failed. Trying audioread instead."),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     "All log messages before absl::InitializeLog() is called are written to STDERR"),
])
def test_other_warnings_are_found_and_unexpected(line, message):
    found = sw.warnings_in_text(STDERR + line + "\n")
    assert found == [SAMPLE_NOTE, message]
    assert sw.unexpected(found) == [message]


def test_the_json_summary_is_read_and_must_have_a_warnings_list():
    assert sw.warnings_in_summary('progress\n{"frames": 3, "warnings": ["a", "b"]}\n') == ["a", "b"]
    with pytest.raises(ValueError):
        sw.warnings_in_summary('{"frames": 3}')
    with pytest.raises(ValueError):
        sw.warnings_in_summary("")


def test_main_exit_codes(tmp_path, capsys):
    summary, err, log = tmp_path / "r.json", tmp_path / "r.log", tmp_path / "synchrorama.log"
    summary.write_text(json.dumps({"frames": 3, "warnings": [SAMPLE_NOTE]}))
    err.write_text(STDERR)
    log.write_text("")
    assert sw.main([str(summary), str(err), str(log)]) == 0
    summary.write_text(json.dumps({"frames": 3, "warnings": [SAMPLE_NOTE, NRC]}))
    assert sw.main([str(summary), str(err), str(log)]) == 1
    assert f"unexpected warning: {NRC}" in capsys.readouterr().err
    summary.write_text(json.dumps({"frames": 3, "warnings": []}))
    log.write_text("2026-12-02 10:00:01,123 WARNING core.x: something degraded\n")
    assert sw.main([str(summary), str(err), str(log)]) == 1
    summary.write_text("not json")
    assert sw.main([str(summary), str(err)]) == 1


# -- smoke_test.sh on a fake bundle --------------------------------------------------------

FAKE_CLI = """#!{py}
import json, os, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("synchrorama 0.1.0")
    sys.exit(0)
out = args[args.index("-o") + 1]
open(out, "wb").write(b"\\0" * 1000)
warnings = json.loads(os.environ.get("FAKE_WARNINGS", "[]"))
for w in warnings:
    print("note: " + w, file=sys.stderr)
record = os.environ.get("FAKE_LOG_RECORD")
if record:
    d = os.path.join(os.environ["SYNCHRORAMA_HOME"], "log")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "synchrorama.log"), "a").write(record + "\\n")
print(json.dumps({{"output": out, "frames": 25, "warnings": warnings}}))
"""
FAKE_STUDIO = """#!{py}
import sys
path = sys.argv[sys.argv.index("--screenshot") + 1]
open(path, "wb").write(b"\\x89PNG" + b"\\1" * 30000)
"""
FAKE_XVFB = """#!/bin/sh
[ "$1" = "-a" ] && shift
exec "$@"
"""


def _exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _smoke(tmp_path: Path, warnings: list[str], record: str = "") -> subprocess.CompletedProcess:
    bundle, bin_ = tmp_path / "bundle", tmp_path / "bin"
    bundle.mkdir(exist_ok=True)
    bin_.mkdir(exist_ok=True)
    _exe(bundle / "synchrorama", FAKE_CLI.format(py=sys.executable))
    _exe(bundle / "synchrorama-studio", FAKE_STUDIO.format(py=sys.executable))
    _exe(bin_ / "xvfb-run", FAKE_XVFB)
    env = dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}", FAKE_WARNINGS=json.dumps(warnings),
               FAKE_LOG_RECORD=record, SMOKE_SHOT=str(tmp_path / "shot.png"), SMOKE_PYTHON=sys.executable)
    return subprocess.run(["bash", str(REPO / "installer" / "smoke_test.sh"), str(bundle)], capture_output=True,
                          text=True, env=env, timeout=120)


def test_smoke_passes_with_only_the_expected_warning(tmp_path):
    res = _smoke(tmp_path, [SAMPLE_NOTE])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SMOKE OK" in res.stdout and (tmp_path / "shot.png").stat().st_size > 20000


def test_smoke_fails_on_a_warning_it_did_not_expect(tmp_path):
    res = _smoke(tmp_path, [SAMPLE_NOTE, NRC])
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"unexpected warning: {NRC}" in res.stderr and "SMOKE FAIL: unexpected warnings" in res.stderr
    assert "SMOKE OK" not in res.stdout and not (tmp_path / "shot.png").exists()


def test_smoke_fails_on_a_warning_only_in_the_core_log(tmp_path):
    res = _smoke(tmp_path, [SAMPLE_NOTE], record="2026-12-02 10:00:01,123 WARNING core.emotion.ser: degraded")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "unexpected warning: degraded" in res.stderr


def test_the_deb_depends_on_every_x_library_qt_needs_to_open_a_window():
    """Qt's xcb platform plugin links a dozen X libraries; one missing on the user's machine and the
    studio aborts at start ("Could not load the Qt platform plugin "xcb""), as it did here without
    libxcb-icccm4 and libxcb-keysyms1. Each one the plugin links must be a dependency of the .deb
    (Debian names: libxcb-render-util.so.0 -> libxcb-render-util0, libxkbcommon-x11.so.0 ->
    libxkbcommon-x11-0)."""
    import re
    import shutil

    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        pytest.skip("the .deb is a Linux package: its X-library dependencies are checked on Linux, with ldd")
    import PySide6

    qpa = next((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libQt6XcbQpa.so*"), None)
    if qpa is None:
        pytest.skip("this PySide6 build has no xcb platform library, so there is nothing the .deb must bring for it")
    linked = set(re.findall(r"^\s*(lib(?:xcb|X11-xcb|xkbcommon)[\w-]*)\.so\.(\d+)",
                            subprocess.run(["ldd", str(qpa)], capture_output=True, text=True).stdout, re.M))
    assert len(linked) >= 10, linked
    build = (REPO / "installer" / "linux" / "build.sh").read_text()
    depends = {d.strip() for d in re.search(r"^Depends: (.*)$", build, re.M).group(1).split(",")}
    wanted = {(name + ("-" if name[-1].isdigit() else "") + ver).lower() for name, ver in linked}
    assert wanted <= depends, sorted(wanted - depends)
