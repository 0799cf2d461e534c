"""Peak memory of a 60-s and a 600-s render: frames are streamed, so it must not grow.

Each render is a child process (``synchrorama render``); we record the
kernel's high-water RSS (VmHWM) of the largest process in its tree and the
summed RSS of the whole tree (Python + ffmpeg encoder) sampled every 0.25 s,
plus how that sum moves while frames are being written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.common import md_table, timed_render

TITLE = "Memory (long narrations)"
# 40 x the 15.24-s sample = 609.6 s; BENCH_LONG_REPEATS lowers it when time is short
LONG_REPEATS = int(os.environ.get("BENCH_LONG_REPEATS", "40"))
STAGE_ORDER = ["start-up", "face", "audio", "alignment", "emotion", "motion", "prepare", "render+encode"]


def _render_phase(series: list[tuple[float, float]], wall: float, render_s: float) -> list[float]:
    """Tree RSS samples taken while frames were being rendered and encoded (the last stage)."""
    start = wall - render_s
    return [mb for t, mb in series if start + 0.1 * render_s <= t <= wall - 0.5]


def stage_spans(wall: float, summary: dict) -> list[tuple[str, float, float]]:
    """(stage, start, end) in seconds from process start, from the CLI's stage times.

    Stages ran in the order the CLI reports them; what is left of the wall
    time before the first one is interpreter start-up and imports.
    """
    stages = summary.get("stages", {})
    t = max(0.0, wall - float(summary.get("seconds", wall)))
    spans = [("start-up", 0.0, t)]
    for name, sec in stages.items():
        if name == "prepare" and "prepare_wait" in stages:
            continue   # prepared beside the analysis (issue 19): only the wait for it is on the timeline
        name = "prepare" if name == "prepare_wait" else name
        spans.append((name, t, t + float(sec)))
        t += float(sec)
    return spans


def stage_at(spans: list[tuple[str, float, float]], t: float) -> str:
    for name, a, b in spans:
        if a <= t < b:
            return name
    return "end (muxing, exit)"


def run(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    rows, stage_rows, time_rows, peaks, keys = [], [], [], [], []
    runs = [(4, "60-s"), (LONG_REPEATS, f"{round(15.24 * LONG_REPEATS)}-s")]
    for repeats, label in runs:
        r = timed_render(out_dir / "renders", repeats)
        m = r.measured
        render_s = float(r.summary.get("stages", {}).get("render+encode", 0.0))
        phase = _render_phase(m.series, m.wall, render_s)
        first = phase[: max(1, len(phase) // 10)]
        last = phase[-max(1, len(phase) // 10):]
        drift = (sum(last) / len(last) - sum(first) / len(first)) if phase else float("nan")
        spans = stage_spans(m.wall, r.summary)
        t_peak, mb_peak = max(m.series, key=lambda x: x[1]) if m.series else (0.0, 0.0)
        peak_stage = stage_at(spans, t_peak)
        per_stage = {name: max((mb for t, mb in m.series if a <= t < b), default=0.0) for name, a, b in spans}
        (out_dir / f"rss_series_x{repeats}.json").write_text(json.dumps(
            {"series": m.series, "spans": spans, "summary": r.summary}, indent=0))
        key = "60s" if repeats == 4 else ("600s" if repeats == 40 else f"{round(r.seconds_audio)}s")
        figures[f"peak_rss_largest_process_mb_{key}"] = round(m.maxrss_mb, 1)
        figures[f"peak_rss_tree_mb_{key}"] = round(m.tree_peak_mb, 1)
        figures[f"peak_pss_tree_mb_{key}"] = round(m.tree_peak_pss_mb, 1)
        figures[f"render_phase_rss_drift_mb_{key}"] = round(drift, 1)
        figures[f"rtf_{key}"] = round(m.wall / r.seconds_audio, 3)
        for name, mb in per_stage.items():
            if mb:
                figures[f"peak_rss_tree_mb_{key}_{name.replace('+', '_').replace('-', '_')}"] = round(mb, 1)
        stage_rows.append([label] + [round(per_stage.get(n, 0.0)) or None for n in STAGE_ORDER])
        time_rows.append([label] + [round(float(r.summary.get("stages", {}).get(n, 0.0)), 1)
                                    if n in r.summary.get("stages", {}) else None for n in STAGE_ORDER[1:]])
        peaks.append((label, peak_stage, t_peak))
        keys.append(key)
        rows.append([f"{label} ({r.seconds_audio:.1f} s, {r.summary.get('frames')} frames)",
                     round(m.wall, 1), round(m.wall / r.seconds_audio, 3), round(m.maxrss_mb),
                     round(m.tree_peak_mb), round(m.tree_peak_pss_mb), round(min(phase)) if phase else None,
                     round(max(phase)) if phase else None, round(drift, 1)])
    a, b = (figures[f"peak_rss_tree_mb_{k}"] for k in keys)
    ratio = b / a if a else float("nan")
    figures["peak_rss_tree_ratio_long_over_60s"] = round(ratio, 3)
    md = [
        "Sample portrait, work size 512, 25 fps, the sample narration repeated (and its script), "
        "`synchrorama render --no-cache` in a child process. *Largest process* is the kernel's peak "
        "RSS (VmHWM, read from /proc while it runs) of the biggest single process in the render's tree; *tree* is the summed RSS "
        "of Python and the ffmpeg encoder sampled every 0.25 s, and *PSS tree* the same tree's summed "
        "proportional set size (a page shared by k processes counts 1/k in each, so shared pages count "
        "once in the sum, where summed RSS counts them once per process); the last three columns are the RSS sum "
        "while frames are rendered and encoded (first 10 % of the stage skipped), and its drift from "
        "the first to the last tenth of the stage.",
        "",
        md_table(["render", "wall s", "RTF", "peak RSS largest process MB", "peak RSS tree MB",
                  "peak PSS tree MB", "render-phase min MB", "render-phase max MB", "render-phase drift MB"], rows),
        "",
        "Peak of the tree's summed RSS within each stage (MB; stage boundaries from the CLI's own "
        "`--json` stage times, so they are placed to within the 0.25-s sampling):",
        "",
        md_table(["render", *STAGE_ORDER], stage_rows),
        "",
        "; ".join(f"{label}: the peak falls in `{st}` at {t:.0f} s" for label, st, t in peaks) + ".",
        "",
        "Seconds per stage of the same two renders (the CLI's `--json` figures), to show how each "
        "stage scales with length:",
        "",
        md_table(["render", *STAGE_ORDER[1:]], time_rows),
        "",
        f"A render {runs[1][0] // runs[0][0]}× longer peaks at {ratio:.2f}× the memory of the 60-s one"
        + (": memory is bounded by the work per frame, not by the length of the narration."
           if ratio < 1.25 else
           ": memory still grows with the narration's length. " + _where(stage_rows, peaks)),
    ]
    if LONG_REPEATS != 40:
        md.append(f"(The long render was shortened to {LONG_REPEATS} repeats by BENCH_LONG_REPEATS.)")
    return {"title": TITLE, "markdown": "\n".join(md), "figures": figures}


def _where(stage_rows: list[list], peaks: list[tuple]) -> str:
    """Say which stage grows, from the per-stage peaks of the short and the long render."""
    short, long_ = stage_rows[0][1:], stage_rows[1][1:]
    growth = [(STAGE_ORDER[i], (b or 0) - (a or 0)) for i, (a, b) in enumerate(zip(short, long_))]
    name, mb = max(growth, key=lambda g: g[1])
    render_i = STAGE_ORDER.index("render+encode")
    text = (f"The stage that grows most is `{name}` (+{mb:.0f} MB); while frames are rendered and encoded "
            f"the tree peaks at {short[render_i] or 0:.0f} MB (60 s) vs {long_[render_i] or 0:.0f} MB (long)")
    if name == "render+encode":
        return text + ": the frame loop itself holds memory that grows with length."
    return text + (", so frame streaming is bounded; the growth is in an analysis stage that holds "
                   "whole-narration data at once.")
