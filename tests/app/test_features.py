"""Studio features beyond the basics: recording, scene suggestions, models, drops, recovery,
settings, layout, the diffusion entry and `synchrorama render --project` (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from core.tracks import SceneSegment

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample"


def _drop(win, path: Path) -> bool:
    """Drag a file over the window and drop it, as a file manager does; True if the window took it."""
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    if not enter.isAccepted():
        return False
    ev = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, ev)
    return ev.isAccepted()


def _answer(box: QMessageBox, button) -> None:
    box.button(button).click()


# -- microphone -----------------------------------------------------------------------

class _FakeInputStream:
    """Stands in for sounddevice.InputStream: a thread calls back with a 440 Hz sine in 1024-sample blocks."""

    def __init__(self, samplerate, channels, dtype, callback):
        self.rate, self.callback = int(samplerate), callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.fed = 0

    def _run(self) -> None:
        while not self._stop.is_set() and self.fed < self.rate * 3:   # at most 3 s of "speech"
            t = (self.fed + np.arange(1024)) / self.rate
            block = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)[:, None]
            self.callback(block, 1024, None, None)
            self.fed += 1024
            time.sleep(0.002)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(2)

    def close(self):
        pass


@pytest.fixture
def fake_mic(monkeypatch):
    streams: list[_FakeInputStream] = []

    def make(**kw):
        s = _FakeInputStream(**kw)
        streams.append(s)
        return s

    mod = types.SimpleNamespace(InputStream=make, query_devices=lambda kind=None: {"name": "fake mic"})
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    return streams


def test_record_writes_a_wav_beside_the_project_and_uses_it(loaded, qtbot, tmp_path, fake_mic):
    import soundfile as sf

    s, media = loaded.session, loaded.media
    s.save(tmp_path / "talk.srproj")
    assert media.check_microphone() and media.btn_record.isEnabled()
    dlg = media.record()
    dlg.btn.click()                                    # Start
    qtbot.waitUntil(lambda: dlg.rec.snapshot()[0] >= 1.0, timeout=10000)
    dlg.btn.click()                                    # Stop and use
    qtbot.waitUntil(lambda: s.project.narration.endswith(".wav") and "talk-narration" in s.project.narration,
                    timeout=10000)
    wav = Path(s.project.narration)
    assert wav.parent == tmp_path and wav.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["talk.srproj", wav.name])   # no temp file left
    data, rate = sf.read(wav)
    assert rate == 48000 and len(data) == fake_mic[0].fed
    spec = np.abs(np.fft.rfft(data * np.hanning(len(data))))
    assert np.fft.rfftfreq(len(data), 1 / rate)[spec.argmax()] == pytest.approx(440, abs=2)
    assert np.max(np.abs(data)) == pytest.approx(0.3, abs=0.01)
    qtbot.waitUntil(loaded.settled, timeout=60000)     # the take is analysed as the narration
    assert s.analysis.audio.duration == pytest.approx(len(data) / rate, abs=0.01)
    loaded.undo_action.trigger()
    assert not s.project.narration.endswith(wav.name)


def test_record_is_disabled_with_the_reason_without_a_microphone(studio, monkeypatch):
    def none(kind=None):
        raise ValueError("No input device matching")

    monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(query_devices=none))
    assert not studio.media.check_microphone()
    assert not studio.media.btn_record.isEnabled()
    assert "no microphone" in studio.media.btn_record.toolTip()


# -- scene suggestions -------------------------------------------------------------------

def test_suggest_all_with_rules_and_cue_warnings(loaded, qtbot):
    s, panel = loaded.session, loaded.scenes
    loaded.settings.llm_kind = "rules"
    task = panel.suggest_all()
    assert panel.btn_cancel.isVisible() and not panel.btn_all.isEnabled()
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    assert task is not None and s.project.scenes
    assert {seg.source for seg in s.project.scenes} == {"auto"}
    assert s.project.scenes[0].start == 0 and s.project.scenes[-1].end == pytest.approx(2.5, abs=0.05)
    assert "rules writer" in panel.note.text()
    assert panel.table.rowCount() == len(s.project.scenes)
    # a wish the face cannot show comes back as a render warning and is listed
    s.edit("scenes", [SceneSegment(0.2, 1.8, "juggles three balls", "user")], "Edit scene")
    qtbot.waitUntil(lambda: any("could not map" in w for w in s.warnings), timeout=20000)
    qtbot.waitUntil(lambda: panel.notes.count() > 0, timeout=5000)
    texts = [panel.notes.item(i).text() for i in range(panel.notes.count())]
    assert any("could not map" in t and "juggles" in t for t in texts)
    assert panel.notes.isVisible()


class _FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible server: one model; chat answers come from ``server.answers`` in turn."""

    def log_message(self, *a):
        pass

    def _send(self, obj) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.hits.append(self.path)
        self._send({"data": [{"id": "fake-7b"}]})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        json.loads(self.rfile.read(n))
        self.server.hits.append(self.path)
        if len(self.server.hits) > self.server.limit:
            self.send_error(503, "request budget spent")
            return
        time.sleep(self.server.delay)
        k = sum(h.endswith("/chat/completions") for h in self.server.hits) - 1
        line = self.server.answers[k % len(self.server.answers)]
        self._send({"choices": [{"message": {"role": "assistant", "content": line}}]})


@pytest.fixture
def llm_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLLM)
    srv.hits, srv.limit, srv.delay = [], 40, 0.0
    srv.answers = ["smiles warmly and nods", 'says "hello" to everyone']
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _use_server(win, srv) -> None:
    dlg = win.show_settings()
    dlg.llm_kind.setCurrentIndex(dlg.llm_kind.findData("openai"))
    dlg.llm_url.setText(f"http://127.0.0.1:{srv.server_address[1]}/v1")
    dlg.llm_model.setText("")
    dlg.accept()
    cfg = win.settings.backend_config()
    assert (cfg.kind, cfg.url, cfg.allow_remote) == ("openai", dlg.llm_url.text(), False)


def test_suggest_from_a_local_server_shows_rejections(loaded, qtbot, llm_server):
    s, panel = loaded.session, loaded.scenes
    _use_server(loaded, llm_server)
    llm_server.answers = ['says "hello" to everyone']          # quotes speech: must be rejected
    panel.suggest_all()
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    segs = s.project.scenes
    chats = [h for h in llm_server.hits if h.endswith("/chat/completions")]
    assert segs and len(chats) == len(segs) and len(llm_server.hits) <= llm_server.limit
    assert {seg.source for seg in segs} == {"auto"}            # the rules writer's line replaced it
    notes = [panel.notes.item(i).text() for i in range(panel.notes.count())]
    assert any("rejected" in n and "quotation" in n for n in notes), notes
    assert "openai writer" in panel.note.text() and "0 from the LLM" in panel.note.text()
    # one segment: a fresh line for the selected row, its times kept
    llm_server.answers = ["tilts the head slightly"]
    panel.select_row(0)
    before = (segs[0].start, segs[0].end)
    panel.suggest_selected()
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    assert (s.project.scenes[0].start, s.project.scenes[0].end) == before
    assert s.project.scenes[0].text == "tilts the head slightly" and s.project.scenes[0].source == "llm"
    assert panel.notes.count() == 0 and "Suggested (LLM)" in panel.note.text()
    loaded.undo_action.trigger()
    assert s.project.scenes[0].source == "auto"


def test_suggestions_cancel_and_remote_hosts_are_refused(loaded, qtbot, llm_server):
    from app import errors

    s, panel = loaded.session, loaded.scenes
    _use_server(loaded, llm_server)
    llm_server.delay = 0.4
    s.edit("scenes", [SceneSegment(0.0, 1.0, "nods", "user")], "Add scene")
    before = list(s.project.scenes)
    box = panel.suggest_all()                                  # the user's own segment: asked first
    assert isinstance(box, QMessageBox)
    box.findChild(QPushButton, "replace").click()
    task = panel.task
    qtbot.waitUntil(lambda: any(h.endswith("/models") for h in llm_server.hits), timeout=10000)
    panel.btn_cancel.click()
    qtbot.waitUntil(lambda: panel.task is None, timeout=10000)
    assert task.token.cancelled and s.project.scenes == before
    assert "cancelled" in panel.note.text()
    # a server on another machine is refused unless allowed in Settings
    loaded.settings.llm_url = "http://192.0.2.1:11434/v1"
    panel.suggest_all().findChild(QPushButton, "keep").click()
    qtbot.waitUntil(lambda: panel.task is None, timeout=10000)
    assert "not on this machine" in errors.shown[-1]
    assert s.project.scenes == before


# -- models --------------------------------------------------------------------------------

def test_models_import_verify_delete(studio, qtbot, tmp_path):
    from core.models import list_models, write_manifest

    src = tmp_path / "my-avatar"
    src.mkdir()
    (src / "weights.npz").write_bytes(np.arange(1000, dtype=np.float32).tobytes())
    (src / "config.json").write_text('{"size": 256}')
    write_manifest(src, "anna", "diffusion-avatar", licence="own footage")
    dlg = studio.show_models()
    n0 = dlg.user.rowCount()
    task = dlg.import_folder(str(src))
    assert not dlg.btn_import.isEnabled()              # busy while the worker copies
    qtbot.waitUntil(lambda: dlg.task is None, timeout=20000)
    assert task is not None and "Imported 'anna'" in dlg.status.text()
    rows = {dlg.user.item(i, 0).text(): dlg.user.item(i, 3).text() for i in range(dlg.user.rowCount())}
    assert rows["anna"] == "ok" and dlg.user.rowCount() == n0 + 1
    assert any(m.name == "anna" for m in list_models())
    # the same folder again: refused with core's message
    from app import errors

    dlg.import_folder(str(src))
    qtbot.waitUntil(lambda: dlg.task is None, timeout=20000)
    assert "already installed" in errors.shown[-1]
    # a damaged file shows up in Verify
    stored = Path(next(m.path for m in list_models() if m.name == "anna"))
    (stored / "config.json").write_text('{"size": 512}')
    dlg.verify()
    qtbot.waitUntil(lambda: dlg.task is None, timeout=20000)
    assert "not intact: anna" in dlg.status.text()
    # delete: a non-blocking question, then the worker removes the folder
    row = next(i for i in range(dlg.user.rowCount()) if dlg.user.item(i, 0).text() == "anna")
    dlg.user.selectRow(row)
    box = dlg.delete()
    _answer(box, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: dlg.task is None and "Deleted" in dlg.status.text(), timeout=20000)
    assert not stored.exists() and all(m.name != "anna" for m in list_models())
    dlg.reject()


# -- drops and recovery ----------------------------------------------------------------------

def test_drop_portrait_and_narration(studio, qtbot, clip_audio):
    s = studio.session
    assert _drop(studio, SAMPLE / "portrait.png")
    qtbot.waitUntil(lambda: s.project.portrait.endswith("portrait.png"), timeout=30000)
    assert _drop(studio, clip_audio)
    qtbot.waitUntil(lambda: s.project.narration == str(clip_audio), timeout=30000)   # read on a worker first
    qtbot.waitUntil(studio.settled, timeout=60000)
    assert s.undo.count() == 2
    assert not _drop(studio, REPO / "pyproject.toml")   # not media: the window refuses the drag
    assert s.undo.count() == 2


def test_crash_recovery_through_the_window(studio, qtbot, tmp_path, clip_audio):
    from core.project import Project, find_recoveries, write_autosave

    proj = Project(name="lost work", portrait=str(SAMPLE / "portrait.png"), narration=str(clip_audio),
                   script="Hello.", seed=5, scenes=[SceneSegment(0.5, 1.5, "smiles", "user")])
    path = write_autosave(proj, "crashed-session")
    doc = json.loads(path.read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    doc["autosave"]["pid"] = int(dead)                 # written by a process that is gone
    path.write_text(json.dumps(doc))
    box = studio.offer_recovery()
    assert box is not None and "did not close cleanly" in box.text()
    _answer(box, QMessageBox.StandardButton.Yes)
    s = studio.session
    assert s.project.name == "lost work" and s.project.seed == 5 and s.project.scenes[0].text == "smiles"
    assert s.dirty and studio.windowTitle().startswith("lost work*")
    assert s.undo.count() == 0                          # no dummy commands to undo
    assert not path.exists() and find_recoveries() == []
    own = s.autosave()                                  # this session keeps its own copy
    assert own is not None and json.loads(own.read_text())["seed"] == 5
    s.save(tmp_path / "recovered.srproj")
    assert not s.dirty and not studio.windowTitle().startswith("lost work*")
    assert studio.offer_recovery() is None


# -- settings, layout, renderers ---------------------------------------------------------------

def test_settings_cache_folder_and_export_defaults_persist(studio, qtbot, tmp_path, clip_audio):
    from app.settings import AppSettings

    cache = tmp_path / "my-cache"
    dlg = studio.show_settings()
    dlg.cache_path.setText(str(cache))
    dlg.cache_path.editingFinished.emit()
    assert str(cache) in dlg.cache_label.text() and not dlg.btn_clear.isEnabled()
    dlg.ex_size.setValue(320)
    dlg.ex_fps.setValue(30)
    dlg.ex_crf.setValue(23)
    dlg.accept()
    again = AppSettings.load()
    assert again.cache_root == str(cache.resolve()) and (again.export.size, again.export.fps, again.export.crf) == (320, 30, 23)
    # the next analysis caches into the chosen folder
    studio.new_project()
    s = studio.session
    assert (s.project.export.size, s.project.export.fps) == (320, 30)
    assert studio.export.size.value() == 320 and studio.export.crf.value() == 23
    s.edit("portrait", str(SAMPLE / "portrait.png"), "p")
    s.edit("narration", str(clip_audio), "n")
    qtbot.waitUntil(studio.settled, timeout=60000)
    entries = list(cache.glob("*.json"))
    assert entries and any(e.name.startswith("alignment-") for e in entries)
    dlg = studio.show_settings()
    assert f"{len(entries)} entries" in dlg.cache_label.text() and dlg.btn_clear.isEnabled()
    dlg.btn_clear.click()
    assert list(cache.glob("*.json")) == [] and "0 entries" in dlg.cache_label.text()
    dlg.reject()


def test_layout_at_1440x900_keeps_everything_visible(qtbot):
    from app.settings import AppSettings
    from app.window import MainWindow

    win = MainWindow(settings=AppSettings(), ask=False)
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    qtbot.waitExposed(win)
    assert win.curves.height() >= 220                  # room to edit keys
    assert win.timeline.height() >= win.timeline.minimumSizeHint().height()
    win.right_tabs.setCurrentIndex(2)
    qtbot.wait(50)
    for w in (win.export.btn_export, win.export.output, win.export.queue):
        tl = w.mapTo(win, QPoint(0, 0))
        assert w.isVisible() and tl.y() + w.height() <= win.height() and tl.x() + w.width() <= win.width()
    assert win.right_dock.width() >= 340
    win.close()


def test_diffusion_entry_disabled_until_it_lands_then_explains_what_is_missing(loaded, qtbot, monkeypatch,
                                                                               tmp_path):
    import app.export_panel as ep
    from core.models import import_model, write_manifest

    ex = loaded.export
    item = ex.renderer.model().item(1)
    assert item.isEnabled() == ep.diffusion_present()
    assert ex.cuda is None and ex._cuda_task is None        # torch is not imported until diffusion is chosen
    monkeypatch.setattr(ep, "diffusion_present", lambda: False)
    ex.refresh_renderers()
    assert not item.isEnabled() and "missing from this installation" in item.toolTip()
    monkeypatch.setattr(ep, "diffusion_present", lambda: True)
    monkeypatch.setattr(ep, "cuda_status", lambda: (False, "torch sees no CUDA GPU on this machine"))
    ex.cuda = None
    ex.refresh_renderers()
    assert item.isEnabled() and ex._cuda_task is None
    ex.renderer.setCurrentIndex(1)                            # choosing it starts the one-off check
    qtbot.waitUntil(lambda: ex.cuda is not None, timeout=10000)
    assert not ex.btn_export.isEnabled() and "needs a CUDA GPU" in ex.renderer_note.text()
    assert ex.enqueue(str(tmp_path / "x.mp4")) is None
    loaded.settings.device = "cpu"                           # explicitly slow: no GPU needed
    ex._enable()
    assert "needs a CUDA GPU" not in ex.btn_export.toolTip()
    loaded.settings.device = "auto"
    ex.cuda = (True, "Fake GPU")
    ex._enable()
    assert "No diffusion avatar" in ex.btn_export.toolTip()
    src = tmp_path / "bob"
    src.mkdir()
    (src / "w.npz").write_bytes(b"\0" * 64)
    write_manifest(src, "bob-diffusion-test", "diffusion-avatar")
    info = import_model(src)
    try:
        ex.refresh_renderers()
        assert ex.avatar.isEnabled() and ex.avatar.findText("bob-diffusion-test") >= 0
        ex.avatar.setCurrentText("bob-diffusion-test")
        assert ex.btn_export.isEnabled() and not ex.renderer_note.isVisible()
        assert s_export(loaded).renderer == "diffusion" and s_export(loaded).avatar == "bob-diffusion-test"
        assert ex.options().avatar == "bob-diffusion-test"
    finally:
        import shutil

        shutil.rmtree(info.path)
    ex.renderer.setCurrentIndex(0)


def s_export(win):
    return win.session.project.export


# -- the CLI renders what the app exports ----------------------------------------------------------

def test_cli_project_render_matches_the_app_export(loaded, qtbot, tmp_path):
    from core.io.video import iter_frames, probe

    s, ex = loaded.session, loaded.export
    loaded.curves.set_channel("valence")
    s.edit("curves", {"kind": "synchrorama-emotion-curves", "version": 1,
                      "channels": {"valence": {"mode": "override", "amount": 1.0,
                                               "keys": [{"t": 0.3, "v": -0.8, "interp": "linear"},
                                                        {"t": 2.0, "v": 0.9, "interp": "linear"}]}}}, "curve")
    s.edit("scenes", [SceneSegment(0.5, 1.8, "smiles and nods", "user")], "scene")
    ex.size.setValue(128)
    ex.max_output.setValue(192)
    ex.fps.setValue(20)
    proj = s.save(tmp_path / "cli.srproj")
    # reopen, as a user would: the analysis then comes from core's cache, like the CLI's
    assert loaded.open_project(str(proj))
    qtbot.waitUntil(loaded.settled, timeout=60000)
    assert (s.project.export.size, s.project.export.max_output, s.project.export.fps) == (128, 192, 20)
    app_out = tmp_path / "app.mp4"
    job = ex.enqueue(str(app_out))
    qtbot.waitUntil(lambda: job.status in ("done", "failed", "cancelled"), timeout=90000)
    assert job.status == "done", job.detail
    res = subprocess.run([sys.executable, "-m", "core.cli", "render", "--project", str(proj), "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    cli_out = Path(summary["output"])
    assert cli_out == proj.with_suffix(".mp4")         # the project's default output, beside it
    a, b = probe(app_out), probe(cli_out)
    assert (a.width, a.height, a.n_frames, a.fps) == (b.width, b.height, b.n_frames, b.fps) == (192, 192, 50, 20)
    fa, fb = list(iter_frames(app_out)), list(iter_frames(cli_out))
    assert len(fa) == len(fb) == 50
    assert max(int(np.abs(x.astype(int) - y.astype(int)).max()) for x, y in zip(fa, fb)) == 0
    # options the project holds are refused rather than silently mixed in
    bad = subprocess.run([sys.executable, "-m", "core.cli", "render", "--project", str(proj), "--fps", "30"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--fps cannot be combined with --project" in bad.stderr


def test_a_task_that_outlives_stop_calls_nobody(qtbot):
    """Closing a window while a worker is stuck in a long call must not call into the dead window."""
    import threading
    import time

    from app.workers import Runner, Task

    runner, calls, started = Runner(1), [], threading.Event()

    def slow(progress, cancel):
        started.set()
        time.sleep(0.4)  # ignores cancel on purpose, like a long library call
        return 1

    task = runner.start(Task(slow))
    task.signals.done.connect(calls.append)
    assert started.wait(5)
    assert runner.stop(50) is False  # still running: detached
    assert runner.wait(5000)
    qtbot.wait(100)  # deliver any queued signal
    assert calls == []
