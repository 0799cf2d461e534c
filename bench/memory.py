"""Peak memory of a 60-s and a 600-s render: frames are streamed, so it must not grow.

Each render is a child process (``synchrorama render``); we record the
kernel's peak RSS of the largest process in its tree (os.wait4) and the
summed RSS of the whole tree (Python + ffmpeg encoder) sampled every 0.25 s,
plus how that sum moves while frames are being written.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import md_table, timed_render

TITLE = "Memory (long narrations)"
# 40 x the 15.24-s sample = 609.6 s; BENCH_LONG_REPEATS lowers it when time is short
LONG_REPEATS = int(os.environ.get("BENCH_LONG_REPEATS", "40"))


def _render_phase(series: list[tuple[float, float]], wall: float, render_s: float) -> list[float]:
    """Tree RSS samples taken while frames were being rendered and encoded (the last stage)."""
    start = wall - render_s
    return [mb for t, mb in series if start + 0.1 * render_s <= t <= wall - 0.5]


def run(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    rows = []
    runs = [(4, "60-s"), (LONG_REPEATS, f"{round(15.24 * LONG_REPEATS)}-s")]
    for repeats, label in runs:
        r = timed_render(out_dir / "renders", repeats)
        m = r.measured
        render_s = float(r.summary.get("stages", {}).get("render+encode", 0.0))
        phase = _render_phase(m.series, m.wall, render_s)
        first = phase[: max(1, len(phase) // 10)]
        last = phase[-max(1, len(phase) // 10):]
        drift = (sum(last) / len(last) - sum(first) / len(first)) if phase else float("nan")
        key = "60s" if repeats == 4 else ("600s" if repeats == 40 else f"{round(r.seconds_audio)}s")
        figures[f"peak_rss_largest_process_mb_{key}"] = round(m.maxrss_mb, 1)
        figures[f"peak_rss_tree_mb_{key}"] = round(m.tree_peak_mb, 1)
        figures[f"render_phase_rss_drift_mb_{key}"] = round(drift, 1)
        figures[f"rtf_{key}"] = round(m.wall / r.seconds_audio, 3)
        rows.append([f"{label} ({r.seconds_audio:.1f} s, {r.summary.get('frames')} frames)",
                     round(m.wall, 1), round(m.wall / r.seconds_audio, 3), round(m.maxrss_mb),
                     round(m.tree_peak_mb), round(min(phase)) if phase else None,
                     round(max(phase)) if phase else None, round(drift, 1)])
    a, b = (figures[k] for k in [k for k in figures if k.startswith("peak_rss_tree_mb_")])
    ratio = b / a if a else float("nan")
    figures["peak_rss_tree_ratio_long_over_60s"] = round(ratio, 3)
    md = [
        "Sample portrait, work size 512, 25 fps, the sample narration repeated (and its script), "
        "`synchrorama render --no-cache` in a child process. *Largest process* is the kernel's peak "
        "RSS of the biggest single process in the render's tree (os.wait4); *tree* is the summed RSS "
        "of Python and the ffmpeg encoder sampled every 0.25 s; the last three columns are that sum "
        "while frames are rendered and encoded (first 10 % of the stage skipped), and its drift from "
        "the first to the last tenth of the stage.",
        "",
        md_table(["render", "wall s", "RTF", "peak RSS largest process MB", "peak RSS tree MB",
                  "render-phase min MB", "render-phase max MB", "render-phase drift MB"], rows),
        "",
        f"A render {runs[1][0] // runs[0][0]}× longer peaks at {ratio:.2f}× the memory of the 60-s one"
        + (": memory is bounded by the work per frame, not by the length of the narration."
           if ratio < 1.25 else ": memory grows with length, which needs fixing."),
    ]
    if LONG_REPEATS != 40:
        md.append(f"(The long render was shortened to {LONG_REPEATS} repeats by BENCH_LONG_REPEATS.)")
    return {"title": TITLE, "markdown": "\n".join(md), "figures": figures}
