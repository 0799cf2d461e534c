"""Studio memory while editing: resident memory of the window and its helper processes.

Issue 19's target is "studio RSS <= 1 GB after opening the sample, editing
and previewing for a minute". This drives the real main window on the
offscreen platform in a child process: it opens the embedded sample, waits
until it is analysed and previewed, then for a minute alternates edits a
user makes (a valence key in the emotion curves, emotion strength, head
motion, undo) with playing the preview, and samples the resident memory
of the window process and every helper process it started (psutil, every
0.25 s). Reported: the peak of the sum, each process's peak, and the sum
at the end of the minute.

    .venv/bin/python -m bench.studio_memory [SECONDS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TITLE = "Studio memory while editing the sample"
EDIT_SECONDS = 60.0
TARGET_MB = 1000


def _tree_rss(proc) -> dict[str, float]:
    """RSS in MB of a process ('window') and its descendants ('helper <pid>')."""
    import psutil

    out = {}
    for p in [proc] + proc.children(recursive=True):
        try:
            out["window" if p.pid == proc.pid else f"helper {p.pid}"] = p.memory_info().rss / 2**20
        except psutil.Error:
            pass
    return out


def _drive(seconds: float) -> dict:
    """Runs inside the child: the window, the edits, the samples."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import psutil
    from PySide6.QtWidgets import QApplication

    from app.settings import AppSettings
    from app.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    me = psutil.Process()
    samples: list[tuple[float, dict[str, float]]] = []
    t0 = time.perf_counter()

    def pump(until: float, cond=None) -> None:
        while time.perf_counter() < until:
            app.processEvents()
            if not samples or time.perf_counter() - samples[-1][0] - t0 >= 0.25:
                samples.append((time.perf_counter() - t0, _tree_rss(me)))
            if cond is not None and cond():
                return
            time.sleep(0.01)

    win = MainWindow(settings=AppSettings(), ask=False)
    win.resize(1440, 900)
    win.show()
    win.session.sample_project()
    pump(time.perf_counter() + 300, win.settled)
    opened = time.perf_counter() - t0
    s = win.session
    length = float(s.analysis.tracks.motion.n_frames / s.analysis.tracks.motion.fps) if s.analysis else 10.0
    edits = [
        ("curves", {"kind": "synchrorama-emotion-curves", "version": 1, "channels": {
            "valence": {"mode": "override", "amount": 1.0,
                        "keys": [{"t": 0.0, "v": 0.0}, {"t": length / 2, "v": 0.9}]}}}),
        ("emotion_strength", 1.4),
        ("head_motion", 1.6),
        ("curves", {"kind": "synchrorama-emotion-curves", "version": 1, "channels": {
            "valence": {"mode": "override", "amount": 1.0,
                        "keys": [{"t": 0.0, "v": -0.6}, {"t": length / 2, "v": 0.9}]}}}),
        ("emotion_strength", 0.8),
    ]
    end = time.perf_counter() + seconds
    n_edits = plays = 0
    while time.perf_counter() < end:
        if n_edits % 3 == 2:
            s.undo.undo()
        else:
            key, value = edits[n_edits % len(edits)]
            s.edit(key, value, f"bench {key}")
        n_edits += 1
        pump(min(end, time.perf_counter() + 60), win.settled)
        win.transport.play()
        plays += 1
        pump(min(end, time.perf_counter() + 5.0))
        if win.transport.playing:
            win.transport.toggle()
    final = _tree_rss(me)
    s.undo.setClean()
    win.close()
    app.processEvents()
    peak_sum = max(sum(d.values()) for _, d in samples)
    per_proc: dict[str, float] = {}
    for _, d in samples:
        for k, v in d.items():
            per_proc[k] = max(per_proc.get(k, 0.0), v)
    return {"opened_s": round(opened, 1), "edits": n_edits, "plays": plays, "samples": len(samples),
            "peak_sum_mb": round(peak_sum, 1), "final_sum_mb": round(sum(final.values()), 1),
            "peak_per_process_mb": {k: round(v, 1) for k, v in sorted(per_proc.items(), key=lambda kv: -kv[1])}}


def _session(seconds: float, home: Path) -> dict:
    """One studio session in a child process (its own helpers and Qt state), read back as JSON."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SYNCHRORAMA_HOME=str(home))
    root = Path(__file__).resolve().parents[1]
    code = f"import json, bench.studio_memory as m; print('JSON' + json.dumps(m._drive({seconds})))"
    p = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                       timeout=seconds + 600)
    line = next((x for x in p.stdout.splitlines() if x.startswith("JSON")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"studio run failed (exit {p.returncode}): {p.stderr[-2000:]}")
    return json.loads(line[4:])


def run(out_dir: Path, seconds: float = EDIT_SECONDS) -> dict:
    """Two sessions on fresh user folders: the first (empty analysis cache), then a second one."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="studio-mem-") as home:
        runs = {"first session (empty cache)": _session(seconds, Path(home)),
                "second session (cached analysis)": _session(seconds, Path(home))}
    held = max(r["final_sum_mb"] for r in runs.values())
    worst = max(r["peak_sum_mb"] for r in runs.values())
    met = "met" if held <= TARGET_MB else "NOT met"
    first = next(iter(runs.values()))
    lines = [f"The main window on the offscreen platform opens the embedded sample, waits until it is analysed "
             f"and previewed, then for {seconds:.0f} s alternates edits (valence keys, emotion strength, head "
             f"motion, undo: {first['edits']} in the first session) with stretches of preview playback; resident "
             f"memory of the window and every helper process it started, sampled every 0.25 s. Each session "
             f"runs in its own process on fresh user folders (SYNCHRORAMA_HOME); the second finds the first's "
             f"analysis cache, as a user's next session does.", "",
             "| session | opened and previewed s | peak MB, summed | at the end, summed | peak per process MB |",
             "|---|---|---|---|---|"]
    for name, r in runs.items():
        procs = ", ".join(f"{k.split()[0]} {v:.0f}" for k, v in r["peak_per_process_mb"].items() if v >= 20)
        lines.append(f"| {name} | {r['opened_s']} | {r['peak_sum_mb']} | {r['final_sum_mb']} | {procs} |")
    lines += ["", f"Target <= {TARGET_MB} MB held after opening, editing and previewing for a minute (issue 19): "
              f"**{met}** ({held} MB at the end of the minute, worst session). The peak, {worst} MB, is the first "
              f"analysis of the sample with every model loaded at once in the analysis helper; "
              f"{'over' if worst > TARGET_MB else 'within'} the target for those seconds."]
    figures = {"studio_held_mb": held, "studio_peak_mb": worst}
    for tag, r in zip(("first", "second"), runs.values()):
        figures[f"studio_{tag}_peak_mb"] = r["peak_sum_mb"]
        figures[f"studio_{tag}_final_mb"] = r["final_sum_mb"]
    return {"title": TITLE, "markdown": "\n".join(lines), "figures": figures}


if __name__ == "__main__":
    res = run(Path("out/bench"), float(sys.argv[1]) if len(sys.argv) > 1 else EDIT_SECONDS)
    print(res["markdown"])
