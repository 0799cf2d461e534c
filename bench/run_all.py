"""Run the standard benchmarks and write docs/benchmarks.md (``make bench``).

Each section is a module under bench/ with ``run(out_dir) -> {"title",
"markdown", "figures"}``. Every run is appended to bench/history.jsonl
(machine, date, commit, each section's text and flat numeric figures); the
page is then written from the history alone, so a section not run this time
(``--only``) keeps its last text and every figure shows the run before it
and the change, which is how regressions show. A section whose module is not
in the checkout yet, or that fails, gets a note instead of stopping the rest.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
import traceback
from pathlib import Path

from bench.common import HISTORY, REPO, RESULTS, append_history, git_commit, load_history, machine_info, md_table, utc_now

# (name, module): the order of the page
SECTIONS: list[tuple[str, str]] = [
    ("speed", "bench.speed"),
    ("memory", "bench.memory"),
    ("selfreenact", "bench.selfreenact"),
    ("a2m_clips", "bench.a2m_clips"),
    ("emotion_presets", "bench.emotion_presets"),
    ("detail", "bench.detail"),
    ("diffusion", "bench.diffusion"),
    ("studio_memory", "bench.studio_memory"),
    ("peers", "bench.peers"),
]
DOCS = REPO / "docs" / "benchmarks.md"
OUT = REPO / "out" / "bench"


def run_section(name: str, module: str, out_dir: Path) -> dict:
    """Import and run one section; never raises (a failure becomes the section's text)."""
    t = time.perf_counter()
    mod = None
    try:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            return {"status": "missing", "title": name, "figures": {}, "seconds": 0.0,
                    "markdown": f"Not yet available: `{module.replace('.', '/')}.py` is not in this checkout."}
        res = mod.run(out_dir / name)
        figures, dropped = {}, []
        for k, v in dict(res.get("figures", {})).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                figures[str(k)] = float(v)
            else:
                dropped.append(str(k))
        md = str(res.get("markdown", "")).strip()
        if dropped:
            md += f"\n\n(Figures without a finite value this run: {', '.join(sorted(dropped))}.)"
        return {"status": "ok", "title": str(res.get("title", name)), "markdown": md,
                "figures": figures, "seconds": round(time.perf_counter() - t, 1)}
    except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        return {"status": "error", "title": getattr(mod, "TITLE", name), "figures": {},
                "seconds": round(time.perf_counter() - t, 1),
                "markdown": f"This section failed on this run: `{type(exc).__name__}: {exc}`"}


def run_sections(names: list[str], out_dir: Path, *, history: Path = HISTORY, docs: Path = DOCS,
                 sections: list[tuple[str, str]] | None = None) -> dict:
    """Run the named sections, append one history entry, rewrite the page."""
    sections = sections or SECTIONS
    known = dict(sections)
    entry = {"date": utc_now(), "commit": git_commit(), "machine": machine_info(), "sections": {}}
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        res = run_section(name, known[name], out_dir)
        res["finished"] = utc_now()
        try:
            res["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            pass
        print(f"[bench] {name}: {res['status']} in {res['seconds']} s", file=sys.stderr, flush=True)
        entry["sections"][name] = res
        if res["status"] == "ok":
            RESULTS[name] = res
    append_history(entry, history)
    write_page(load_history(history), docs, order=[n for n, _ in sections])
    return entry


# -- the page -----------------------------------------------------------------
def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    if v == int(v) and abs(v) >= 100:
        return f"{int(v)}"
    return f"{v:.4g}"


def _change(now: float, prev: float | None) -> str:
    if prev is None:
        return "–"
    if prev == 0:
        return "same" if now == 0 else "new ≠ 0"
    pct = 100 * (now - prev) / abs(prev)
    return "same" if abs(pct) < 0.05 else f"{pct:+.1f} %"


def _machine_line(m: dict) -> str:
    return (f"{m.get('cpu')}, {m.get('usable_cores')} usable cores ({m.get('logical_cpus')} logical), "
            f"{m.get('ram_gib')} GiB RAM, GPU: {m.get('gpu')}; {m.get('os')}; Python {m.get('python')}, "
            f"torch {m.get('torch')}, numpy {m.get('numpy')}, OpenCV {m.get('opencv')}, "
            f"mediapipe {m.get('mediapipe')}; load average at start {m.get('load_avg_at_start')}")


def write_page(runs: list[dict], path: Path, order: list[str]) -> str:
    """docs/benchmarks.md from the history: latest good text per section, figures vs the run before."""
    names = list(order) + sorted({n for r in runs for n in r["sections"]} - set(order))
    last = runs[-1] if runs else {"date": "never", "commit": "–", "machine": {}}
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run_all`; `--only NAME[,NAME]` for a subset). "
        "Every figure on this page was measured on the machine listed, on the date given, except the "
        "peer systems' figures, which are quoted from their papers. Every run is kept in "
        "`bench/history.jsonl`; the *previous* column is the last earlier run that measured the same "
        "figure, so regressions show.",
        "",
        f"Latest run: **{last['date']}**, commit `{last['commit']}`.",
        "",
        f"Machine: {_machine_line(last.get('machine', {}))}.",
        "",
    ]
    toc, body = [], []
    for i, name in enumerate(names, 1):
        tries = [(r, r["sections"][name]) for r in runs if name in r["sections"]]
        if not tries:
            continue
        good = [(r, s) for r, s in tries if s.get("status", "ok") == "ok"]
        latest_run, latest = tries[-1]
        shown_run, shown = good[-1] if good else tries[-1]
        title = shown.get("title", name)
        toc.append(f"{len(toc) + 1}. [{title}](#{_anchor(len(toc) + 1, title)})")
        body += [f"## {len(toc)}. {title}", ""]
        meta = (f"_Section `{name}`: run of {shown_run['date']} (section finished "
                f"{shown.get('finished', '–')}), commit `{shown_run['commit']}`")
        if shown.get("seconds"):
            meta += f", took {shown['seconds']:.0f} s"
        if shown.get("load_avg_after"):
            meta += f", load average (1/5/15 min) at its end {shown['load_avg_after']}"
        meta += "._"
        body += [meta, ""]
        if shown_run.get("machine", {}).get("cpu") != last.get("machine", {}).get("cpu") or \
                shown_run.get("machine", {}).get("usable_cores") != last.get("machine", {}).get("usable_cores"):
            body += [f"Measured on: {_machine_line(shown_run.get('machine', {}))}.", ""]
        if latest is not shown:
            body += [f"> The latest attempt ({latest_run['date']}) did not produce figures: "
                     f"{latest.get('markdown', '')}", ""]
        body += [shown.get("markdown", ""), ""]
        figs = shown.get("figures", {})
        if figs:
            earlier = [r for r, s in good if r is not shown_run and runs.index(r) < runs.index(shown_run)]
            rows = []
            for k, v in figs.items():
                prev, when = None, None
                for r in reversed(earlier):
                    pv = r["sections"][name].get("figures", {}).get(k)
                    if pv is not None:
                        prev, when = pv, r["date"]
                        break
                rows.append([f"`{k}`", _fmt(v), _fmt(prev), when or "–", _change(v, prev)])
            body += ["<details><summary>Figures of this section and the previous run</summary>", "",
                     md_table(["figure", "this run", "previous", "previous run", "change"], rows), "",
                     "</details>", ""]
    out += ["## Contents", "", *toc, "", *body]
    text = "\n".join(out).rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return text


def _anchor(i: int, title: str) -> str:
    """GitHub's heading anchor for '## i. title'."""
    s = f"{i}. {title}".lower()
    keep = "".join(c for c in s if c.isalnum() or c in " -_")
    return keep.replace(" ", "-")


def main(argv: list[str] | None = None, *, sections: list[tuple[str, str]] | None = None,
         history: Path = HISTORY, docs: Path = DOCS) -> int:
    sections = sections or SECTIONS
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma-separated sections: " + ", ".join(n for n, _ in sections))
    p.add_argument("--out", type=Path, default=OUT, help="scratch folder for renders (default out/bench)")
    p.add_argument("--history", type=Path, default=history, help="history file (default bench/history.jsonl)")
    p.add_argument("--docs", type=Path, default=docs, help="page to write (default docs/benchmarks.md)")
    p.add_argument("--page-only", action="store_true", help="rewrite the page from the history, run nothing")
    a = p.parse_args(argv)
    history, docs = a.history, a.docs
    if a.page_only:
        write_page(load_history(history), docs, order=[n for n, _ in sections])
        return 0
    names = [n for n, _ in sections]
    if a.only:
        wanted = [w.strip() for w in a.only.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            p.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(names)}")
        names = [n for n in names if n in wanted]
    t = time.perf_counter()
    entry = run_sections(names, a.out, history=history, docs=docs, sections=sections)
    bad = [n for n, s in entry["sections"].items() if s["status"] == "error"]
    print(f"[bench] wrote {docs} in {time.perf_counter() - t:.0f} s"
          + (f"; failed: {', '.join(bad)}" if bad else ""), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
