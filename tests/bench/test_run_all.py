"""bench.run_all: page and history from fake sections, --only, missing/broken sections.

The fake sections are real modules on disk (the benchmarks themselves are
too slow for the test suite); the writer, the history and the command line
are the real ones.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from bench import run_all
from bench.common import load_history, run_measured

FAKES = {
    "alpha": '''
        import os
        TITLE = "Alpha"
        def run(out_dir):
            v = float(os.environ.get("FAKE_ALPHA", "1"))
            out_dir.mkdir(parents=True, exist_ok=True)
            return {"title": TITLE, "markdown": f"alpha text {v:g}", "figures": {"x": v, "bad": float("nan")}}
    ''',
    "beta": '''
        import os
        def run(out_dir):
            return {"title": "Beta", "markdown": os.environ.get("FAKE_BETA", "beta text"), "figures": {"y": 2.0}}
    ''',
    "broken": '''
        TITLE = "Broken"
        def run(out_dir):
            raise RuntimeError("boom")
    ''',
}
SECTIONS = [("alpha", "fakebench.alpha"), ("beta", "fakebench.beta"), ("missing", "fakebench.missing"),
            ("broken", "fakebench.broken")]


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "fakebench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for name, body in FAKES.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for m in [m for m in sys.modules if m.startswith("fakebench")]:
        monkeypatch.delitem(sys.modules, m)
    return tmp_path


def _main(tmp: Path, *args: str) -> int:
    return run_all.main(["--out", str(tmp / "out"), *args], sections=SECTIONS,
                        history=tmp / "history.jsonl", docs=tmp / "benchmarks.md")


def test_second_run_shows_previous_value_and_change(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_ALPHA", "1")
    assert _main(fakes, "--only", "alpha,beta") == 0
    monkeypatch.setenv("FAKE_ALPHA", "1.5")
    assert _main(fakes, "--only", "alpha,beta") == 0
    runs = load_history(fakes / "history.jsonl")
    assert len(runs) == 2
    assert runs[1]["sections"]["alpha"]["figures"] == {"x": 1.5}  # NaN dropped, not written
    page = (fakes / "benchmarks.md").read_text()
    assert "alpha text 1.5" in page and "alpha text 1\n" not in page
    row = next(line for line in page.splitlines() if line.startswith("| `x` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["1.5", "1"] and cells[4] == "+50.0 %"
    assert "without a finite value this run: bad" in page
    assert runs[1]["machine"]["usable_cores"] >= 1 and runs[1]["machine"]["cpu"]
    assert "Machine:" in page and runs[1]["date"] in page


def test_only_keeps_the_other_sections_from_history(fakes, monkeypatch):
    assert _main(fakes, "--only", "alpha,beta") == 0
    monkeypatch.setenv("FAKE_BETA", "beta text, second run")
    assert _main(fakes, "--only", "beta") == 0
    last = load_history(fakes / "history.jsonl")[-1]
    assert set(last["sections"]) == {"beta"}
    page = (fakes / "benchmarks.md").read_text()
    assert "alpha text 1" in page and "beta text, second run" in page
    assert page.index("## 1. Alpha") < page.index("## 2. Beta")


def test_missing_and_broken_sections_do_not_stop_the_rest(fakes):
    assert _main(fakes) == 1  # a failed section makes the exit status non-zero
    page = (fakes / "benchmarks.md").read_text()
    assert "alpha text 1" in page
    assert "Not yet available: `fakebench/missing.py`" in page
    assert "This section failed on this run: `RuntimeError: boom`" in page
    statuses = {k: v["status"] for k, v in load_history(fakes / "history.jsonl")[-1]["sections"].items()}
    assert statuses == {"alpha": "ok", "beta": "ok", "missing": "missing", "broken": "error"}


def test_unknown_section_is_refused(fakes, capsys):
    with pytest.raises(SystemExit) as e:
        _main(fakes, "--only", "alpha,nope")
    assert e.value.code == 2
    assert "unknown section(s) nope" in capsys.readouterr().err
    assert not (fakes / "history.jsonl").exists()


def test_real_sections_are_registered_in_page_order():
    names = [n for n, _ in run_all.SECTIONS]
    assert names[:3] == ["speed", "memory", "selfreenact"] and names[-1] == "peers"
    assert {"a2m_clips", "emotion_presets", "diffusion", "studio_memory"} <= set(names)


def test_measured_child_reports_its_peak_memory(tmp_path):
    code = "import time; b = bytearray(150 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.6); print('{\"ok\": 1}')"
    m = run_measured([sys.executable, "-c", code], interval=0.05)
    assert m.rc == 0 and m.json_line() == {"ok": 1}
    assert 150 <= m.maxrss_mb < 400
    assert 150 <= m.tree_peak_mb < 400 and len(m.series) >= 3


def test_peer_rows_name_their_source_and_ours_stand_beside(tmp_path):
    from bench import peers

    for p in peers.PEERS:
        assert p.source and p.figure
        if p.ms_per_frame is not None:
            assert p.hardware != "–"
    res = peers.run(tmp_path, results={"speed": {"figures": {"renderer_cpu_ms_512_1t": 17.5,
                                                             "renderer_fps_512": 50.0,
                                                             "render_60s_wall_s": 45.0}}})
    md = res["markdown"]
    assert "not measured by us" in res["title"] and "arXiv:2407.03168" in md
    assert "| 17.5 |" in md and "| 20 |" in md and "| 29.5 |" in md
    json.dumps(res)


def test_memory_peak_is_placed_in_the_stage_that_ran_then():
    from bench.memory import stage_at, stage_spans

    summary = {"seconds": 9.0, "stages": {"face": 1.0, "audio": 2.0, "render+encode": 6.0}}
    spans = stage_spans(10.0, summary)
    assert [n for n, _, _ in spans] == ["start-up", "face", "audio", "render+encode"]
    assert stage_at(spans, 0.5) == "start-up" and stage_at(spans, 1.5) == "face"
    assert stage_at(spans, 3.9) == "audio" and stage_at(spans, 4.1) == "render+encode"
    assert stage_at(spans, 10.5).startswith("end")
