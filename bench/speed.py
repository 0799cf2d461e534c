"""Speed: mesh renderer fps at 256/512/1024, real-time factor of a 60-s render, profile.

Targets (issue 4): >= 25 fps at 512 for the renderer alone on the 2-core
CPU, and a whole 60-s render (analysis + rendering + encoding, as the user
runs it) faster than real time (RTF < 1). Renderer figures come from child
processes so the thread setting is clean: one with every library held to one
thread, one with the libraries' defaults. Wall time and CPU time are both
given: wall is what a user waits, CPU time per frame is what stays honest
when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.common import REPO, SAMPLE, SHARED_DATA, md_table, run_measured, timed_render

TITLE = "Speed (mesh renderer, CPU)"
SIZES = (256, 512, 1024)
FRAMES = {256: 150, 512: 100, 1024: 50}
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMEXPR_NUM_THREADS", "SYNCHRORAMA_THREADS")}


# -- workers (run in child processes) -------------------------------------------
def _fps_worker(threads: int, image: Path, sizes: list[int]) -> dict:
    """Frames per second of prepare-once, render-in-a-loop (no encoding).

    The renderer as a render uses it (``frames``: the fast path, on
    ``render_threads()`` threads), then the straightforward reference path
    (``composite(render_crop(...))`` frame by frame, which the fast path is
    tested against) over the same frames, and the worst PSNR between the two.
    """
    import cv2
    import numpy as np

    if threads:
        cv2.setNumThreads(threads)
    from core.face.rig import load_rig
    from core.render.contact_sheet import demo_motion
    from core.render.mesh import MeshRenderer, render_threads

    rig = load_rig(image)
    out = {"cv2_threads": cv2.getNumThreads(), "render_threads": render_threads(), "image": str(image),
           "image_size": list(rig.size), "sizes": {}}
    for size in sizes:
        n = FRAMES.get(size, 100)
        r = MeshRenderer(size=size)
        t = time.perf_counter()
        r.prepare(rig, size)
        prep = time.perf_counter() - t
        motion = demo_motion(n)          # talking, blinking, smiling, turning head: every frame differs
        for _ in r.frames(motion, stop=5):   # warm-up (lazy imports, caches, thread start)
            pass
        # the two paths in turns over the same frames (5 chunks), so a busy machine
        # slows both alike and their ratio per chunk stays meaningful
        edges = np.linspace(0, n, 6).astype(int)
        fast: list = [None] * n
        wall = cpu = crop_s = comp_s = ref_cpu = 0.0
        worst, speedups = 99.0, []
        for a, b in zip(edges[:-1], edges[1:]):
            t0, c0 = time.perf_counter(), time.process_time()
            for j, f in enumerate(r.frames(motion, start=int(a), stop=int(b))):   # what a render does
                fast[a + j] = f
            tf = time.perf_counter() - t0
            wall, cpu = wall + tf, cpu + time.process_time() - c0
            c1, tr = time.process_time(), 0.0
            for i in range(a, b):        # the reference path, timed in its two parts
                ta = time.perf_counter()
                crop = r.render_crop(motion.weights[i], motion.head[i], motion.gaze[i])
                tb = time.perf_counter()
                ref = r.composite(crop)
                tc = time.perf_counter()
                crop_s, comp_s, tr = crop_s + tb - ta, comp_s + tc - tb, tr + tc - ta
                mse = float(np.mean((ref.astype(np.float64) - fast[i]) ** 2))
                worst = min(worst, 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse))
            ref_cpu += time.process_time() - c1
            speedups.append(tr / tf)
        out["sizes"][str(size)] = {"frames": n, "fps": n / wall, "ms_frame": 1000 * wall / n,
                                   "cpu_ms_frame": 1000 * cpu / n,
                                   "ref_fps": n / (crop_s + comp_s), "ref_cpu_ms_frame": 1000 * ref_cpu / n,
                                   "crop_ms_frame": 1000 * crop_s / n, "composite_ms_frame": 1000 * comp_s / n,
                                   "psnr_vs_reference_min_db": worst,
                                   "speedup_vs_reference": float(np.median(speedups)),
                                   "prepare_s": prep, "frame_size": list(r.frame_size)}
    return out


def _track_worker(tracks_path: Path, image: Path, size: int) -> dict:
    """The renderer alone over a saved motion track (frames discarded, no encoder)."""
    from core.face.rig import load_rig
    from core.render.mesh import MeshRenderer
    from core.tracks import Tracks

    tracks = Tracks.load(tracks_path)
    rig = load_rig(image)
    r = MeshRenderer(size=size)
    r.prepare(rig, size)
    w0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for _ in r.frames(tracks.motion):
        n += 1
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"frames": n, "wall_s": wall, "cpu_s": cpu}


def _profile_worker(out_dir: Path, top: int = 14) -> dict:
    """cProfile of the whole in-process pipeline on the 15-s sample (wall-clock timer)."""
    import cProfile
    import pstats

    from core.pipeline import RenderRequest, render

    img, wav, txt = SAMPLE / "portrait.png", SAMPLE / "narration.wav", SAMPLE / "script.txt"
    req = RenderRequest(image=img, audio=wav, script=txt.read_text(encoding="utf-8").strip(),
                        output=out_dir / "profile.mp4", use_cache=False, cache_root=out_dir / "cache")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    result = render(req)
    prof.disable()
    total = time.perf_counter() - t
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = fn if file == "~" else f"{_short(file)}:{line} {fn}"
        rows.append({"where": where, "calls": nc, "tottime": tt, "cumtime": ct})
    rows.sort(key=lambda r: -r["tottime"])
    return {"total_s": total, "frames": result.frames, "stages": result.stages, "top": rows[:top],
            "by_file": _by_file(stats.stats)[:top]}  # type: ignore[attr-defined]


def _by_file(raw: dict) -> list[dict]:
    """Own time per source file; built-ins (cv2, numpy C code) are charged to the files that call them."""
    acc: dict[str, float] = {}
    for (file, line, fn), (cc, nc, tt, ct, callers) in raw.items():
        if file != "~":
            acc[_short(file)] = acc.get(_short(file), 0.0) + tt
            continue
        total = sum(c[2] for c in callers.values()) or 0.0
        for (cfile, _, _), c in callers.items():
            share = tt * (c[2] / total) if total else tt / max(1, len(callers))
            key = _short(cfile) if cfile != "~" else "(built-in called by built-in)"
            acc[key] = acc.get(key, 0.0) + share
        if not callers:
            acc["(built-in, no caller)"] = acc.get("(built-in, no caller)", 0.0) + tt
    return [{"file": k, "seconds": v} for k, v in sorted(acc.items(), key=lambda kv: -kv[1])]


def _short(file: str) -> str:
    p = Path(file)
    if "site-packages" in p.parts:
        return "/".join(p.parts[p.parts.index("site-packages") + 1:])
    for root in (REPO, Path(sys.prefix)):
        try:
            return str(p.relative_to(root))
        except ValueError:
            pass
    return p.name


# -- the section ----------------------------------------------------------------
def _worker(args: list[str], *, one_thread: bool = False) -> dict:
    env = dict(os.environ)
    env.setdefault("SYNCHRORAMA_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "synchrorama-bench-home"))
    if one_thread:
        env.update(ONE_THREAD)
    m = run_measured([sys.executable, "-m", "bench.speed", *args], env=env)
    if m.rc != 0:
        raise RuntimeError(f"bench.speed {' '.join(args)} failed: {m.stderr.strip()[-600:]}")
    return m.json_line()


def run(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    md: list[str] = []
    img = SAMPLE / "portrait.png"

    # 1. renderer alone
    res = {"1 thread": _worker(["--fps-worker", "--threads", "1", "--image", str(img)], one_thread=True),
           "default threads": _worker(["--fps-worker", "--threads", "0", "--image", str(img)])}
    rows = []
    for label, r in res.items():
        tag = "_1t" if label == "1 thread" else ""
        for s in SIZES:
            d = r["sizes"][str(s)]
            figures[f"renderer_fps_{s}{tag}"] = round(d["fps"], 2)
            figures[f"renderer_cpu_ms_{s}{tag}"] = round(d["cpu_ms_frame"], 2)
            figures[f"renderer_ref_fps_{s}{tag}"] = round(d["ref_fps"], 2)
            figures[f"renderer_psnr_vs_ref_{s}{tag}"] = round(d["psnr_vs_reference_min_db"], 1)
            rows.append([s, label, round(d["fps"], 1), round(d["ms_frame"], 1), round(d["cpu_ms_frame"], 1),
                         round(d["ref_fps"], 1), round(d["speedup_vs_reference"], 2), round(d["crop_ms_frame"], 1),
                         round(d["composite_ms_frame"], 1), _psnr_cell(d), d["frames"], round(d["prepare_s"], 2)])
            figures[f"renderer_speedup_vs_ref_{s}{tag}"] = round(d["speedup_vs_reference"], 3)
    big = SHARED_DATA / "portraits" / "lp_s1.jpg"
    if big.exists():
        r = _worker(["--fps-worker", "--threads", "0", "--image", str(big), "--sizes", "512"])
        d = r["sizes"]["512"]
        figures["renderer_fps_512_big_portrait"] = round(d["fps"], 2)
        figures["renderer_ref_fps_512_big_portrait"] = round(d["ref_fps"], 2)
        figures["renderer_psnr_vs_ref_512_big_portrait"] = round(d["psnr_vs_reference_min_db"], 1)
        rows.append([f"512 (lp_s1, {r['image_size'][0]}² output)", "default threads", round(d["fps"], 1),
                     round(d["ms_frame"], 1), round(d["cpu_ms_frame"], 1), round(d["ref_fps"], 1),
                     round(d["speedup_vs_reference"], 2), round(d["crop_ms_frame"], 1),
                     round(d["composite_ms_frame"], 1), _psnr_cell(d), d["frames"], round(d["prepare_s"], 2)])
        figures["renderer_speedup_vs_ref_512_big_portrait"] = round(d["speedup_vs_reference"], 3)
    fps512 = figures["renderer_fps_512"]
    dt = res["default threads"]
    md += [
        "### Renderer alone",
        f"Sample portrait ({dt['image_size'][0]}² px), rig built once, "
        "`contact_sheet.demo_motion` (syllables, blink, smile, ±14° head turn and nod: every frame "
        "differs), frames generated in a loop and discarded (no encoding), after 5 warm-up frames. "
        "*fps* is the renderer as a render uses it (`frames()`: the face's box warped at the work size, "
        f"the frame rebuilt at the output's resolution, {dt['render_threads']} frames at a time on "
        "\"default threads\"); *reference fps* is the straightforward path the fast one is tested against "
        "(`composite(render_crop())`: the whole crop warped, one frame at a time), split into its face crop "
        "and paste; the two run in turns over the same frames (5 chunks) and *fast / reference speed* is the "
        "median of the chunks' speed ratios, the figure a busy machine disturbs least; *PSNR* is the worst "
        "frame's PSNR between the two. "
        "*CPU ms/frame* above *ms/frame* means a second thread was busy. *work size* is the face-crop "
        "resolution (`--size`). \"1 thread\" holds OpenCV, BLAS/OpenMP and the renderer to one thread; "
        f"\"default threads\" lets OpenCV use its pool ({dt['cv2_threads']} threads here).",
        "",
        md_table(["work size", "threads", "fps (wall)", "ms/frame", "CPU ms/frame", "reference fps",
                  "fast / reference speed (median of 5 turns)", "reference: face crop ms", "reference: paste ms", "PSNR fast vs reference dB", "frames",
                  "prepare s"], rows),
        "",
        f"Target ≥ 150 fps at 512 (issue 19): **{'met' if fps512 >= 150 else 'NOT met'}** ({fps512:.1f} fps, "
        f"{figures['renderer_fps_512_1t']:.1f} fps on one thread); same pictures as the reference "
        f"(PSNR ≥ 40 dB): **{'met' if figures['renderer_psnr_vs_ref_512'] >= 40 else 'NOT met'}**.",
        "",
    ]

    # 2. whole 60-s render, as a user runs it
    run60 = timed_render(out_dir / "renders", 4)
    m, s = run60.measured, run60.summary
    rtf = m.wall / run60.seconds_audio
    figures["rtf_60s"] = round(rtf, 3)
    figures["render_60s_wall_s"] = round(m.wall, 2)
    stages = s.get("stages", {})
    for k, v in stages.items():
        figures[f"stage_60s_{k.replace('+', '_')}_s"] = v
    alone = _worker(["--track-worker", str(run60.tracks), "--image", str(img)])
    figures["renderer_alone_60s_s"] = round(alone["wall_s"], 2)
    startup = m.wall - float(s.get("seconds", m.wall))
    enc = stages.get("render+encode", 0.0) - alone["wall_s"]
    rows = [["whole command (wall clock)", round(m.wall, 2), 100.0]]
    rows.append(["interpreter start, imports, argument parsing", round(startup, 2), round(100 * startup / m.wall, 1)])
    for k, v in stages.items():
        rows.append([f"stage `{k}`", v, round(100 * v / m.wall, 1)])
    rows.append(["… of which the renderer alone (same track, no encoder, separate run)",
                 round(alone["wall_s"], 2), round(100 * alone["wall_s"] / m.wall, 1)])
    rows.append(["… of which encoding and the pipe to ffmpeg (difference; negative = not separable this way)",
                 round(enc, 2), round(100 * enc / m.wall, 1)])
    md += [
        "### Real-time factor of a whole 60-s render",
        f"`synchrorama render --image resources/sample/portrait.png --audio long.wav --script @long.txt "
        f"--no-cache --json` in a child process, where long.wav is the sample narration four times "
        f"({run60.seconds_audio:.2f} s) and long.txt its script four times; empty analysis cache; "
        f"{s.get('frames')} frames at {s.get('width')}×{s.get('height')}, 25 fps, work size 512, x264 CRF 18. "
        "Stage times are the CLI's own `--json` figures.",
        "",
        f"**RTF = {m.wall:.1f} s / {run60.seconds_audio:.1f} s = {rtf:.2f}** "
        f"(target < 1.0: **{'met' if rtf < 1 else 'NOT met'}**).",
        "",
        md_table(["part", "seconds", "% of wall"], rows),
        "",
    ]
    for w in s.get("warnings", []):
        md.append(f"Render warning: {w}")
    if s.get("warnings"):
        md.append("")

    # 3. profile
    prof = _worker(["--profile-worker", str(out_dir / "profile")])
    figures["profile_15s_total_s"] = round(prof["total_s"], 2)
    top = [[f"`{r['where']}`", r["calls"], round(r["tottime"], 2), round(100 * r["tottime"] / prof["total_s"], 1),
            round(r["cumtime"], 2)] for r in prof["top"]]
    md += [
        "### Where the time goes",
        f"cProfile (wall-clock timer) of the in-process pipeline on the 15-s sample "
        f"({prof['frames']} frames, {prof['total_s']:.1f} s under the profiler; stages "
        f"{', '.join(f'{k} {v:.2f} s' for k, v in prof['stages'].items())}). Functions by own time; "
        "time blocked writing to the encoder's pipe shows as `write`.",
        "",
        md_table(["function", "calls", "own s", "% of total", "cumulative s"], top),
        "",
        "The same profile by source file (own time; OpenCV/numpy built-ins charged to the file that calls them):",
        "",
        md_table(["file", "seconds", "% of total"],
                 [[f"`{r['file']}`", round(r["seconds"], 2), round(100 * r["seconds"] / prof["total_s"], 1)]
                  for r in prof["by_file"]]),
        "",
        _reading(stages, alone["wall_s"], enc, m.wall),
        "",
    ]
    # 4. the first render after an install against a warm one
    first = first_render(out_dir / "first")
    figures.update(first["figures"])
    md += first["markdown"]

    md[:0] = _issue19_summary(figures)

    load = os.getloadavg()
    cores = len(os.sched_getaffinity(0))
    if max(load) > cores:
        md += [f"Note: the machine was shared while this ran (load average {load[0]:.1f}/{load[1]:.1f}/"
               f"{load[2]:.1f} over 1/5/15 min on {cores} cores), so wall-clock figures here are "
               "pessimistic; CPU ms/frame on one thread is the figure least affected by other work.", ""]
    return {"title": TITLE, "markdown": "\n".join(md), "figures": figures}


# issue 19's starting point, as the issue states it (idle 2-core machine)
ISSUE19_BASE = {"rtf_60s": 0.41, "renderer_fps_512": 85.8, "first_over_warm": 4.3,
                "peak_rss_tree_mb_600s": 1004, "studio_rss_mb": 2000}
AB_FILE = REPO / "bench" / "ab_issue19.json"


def _latest(name: str) -> float | None:
    """The newest value of a figure in bench/history.jsonl (another section's, e.g. memory)."""
    from bench.common import RESULTS, load_history

    for sec in RESULTS.values():
        if name in sec.get("figures", {}):
            return sec["figures"][name]
    for run in reversed(load_history()):
        for sec in run.get("sections", {}).values():
            if name in sec.get("figures", {}):
                return sec["figures"][name]
    return None


def _issue19_summary(figures: dict) -> list[str]:
    """The issue's targets: its starting figures, this run's, and the A/B pairs kept in bench/ab_issue19.json."""
    def cell(v, fmt="{:.2f}"):
        return "–" if v is None else fmt.format(v)

    peak = _latest("peak_rss_tree_mb_600s")
    rows = [
        ["60-s job real-time factor", "≤ 0.25", ISSUE19_BASE["rtf_60s"], cell(figures.get("rtf_60s"))],
        ["renderer fps at 512 (default threads)", "≥ 150", ISSUE19_BASE["renderer_fps_512"],
         cell(figures.get("renderer_fps_512"), "{:.1f}")],
        ["fast path vs reference, worst frame PSNR dB (512)", "≥ 40", "–",
         "identical" if figures.get("renderer_psnr_vs_ref_512", 0) >= 99 else cell(figures.get("renderer_psnr_vs_ref_512"), "{:.1f}")],
        ["first render / warm render (after make setup)", "≤ 2", ISSUE19_BASE["first_over_warm"],
         cell(figures.get("first_over_warm_setup"))],
        ["10-min render, peak RSS of the process tree MB (memory section)", "≤ 1000",
         ISSUE19_BASE["peak_rss_tree_mb_600s"], cell(peak, "{:.0f}")],
    ]
    out = ["### Issue 19 targets",
           "*Issue's start* is the figure the issue quotes (idle machine); *this run* is this section's own "
           "(see the load in the header: on a shared machine wall-clock figures are pessimistic, the "
           "ratios below are the comparable ones).", "",
           md_table(["figure", "target", "issue's start", "this run"], rows), ""]
    if AB_FILE.exists():
        data = json.loads(AB_FILE.read_text(encoding="utf-8"))
        # one block per session of work, newest first ({"blocks": [...]}; a lone block is the old form)
        for ab in data.get("blocks", [data]):
            out += [f"A/B {ab.get('what', 'against the code before issue 19')} (commit `{ab['base']}`), "
                    f"measured {ab['date']} on {ab['machine']} at load {ab['load']}: whole processes in "
                    "alternating pairs (A B A B ...), medians of the per-pair ratios (new / old; below 1 "
                    "is faster):", "",
                    md_table(["workload", "pairs", "wall", "CPU", "other"],
                             [[r["workload"], r["pairs"], r["wall"], r["cpu"], r.get("other", "")]
                              for r in ab["rows"]]),
                    ""]
            out += [f"- {n}" for n in ab.get("notes", [])] + [""]
    return out


def first_render(work: Path) -> dict:
    """`synchrorama render` of the sample (what `make demo` runs), first and second time.

    Each scenario gets a fresh copy of the project's sources (no bytecode),
    empty user folders (no analysis cache, no identity-guard scales) and an
    empty matplotlib folder (no font list), as a new install has: "nothing
    prepared" runs the render on that; "after make setup" first does what the
    Makefile's set-up now does at install time (compile the bytecode, build
    the font list). The warm run is the same command again (analysis cached,
    as for any second render of a narration).
    """
    import shutil

    rows, figures = [], {}
    for key, label, install_steps in (("bare", "nothing prepared", False), ("setup", "after make setup", True)):
        root = work / key
        shutil.rmtree(root, ignore_errors=True)
        src = root / "src"
        for part in ("core", "resources"):
            shutil.copytree(REPO / part, src / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(SYNCHRORAMA_HOME=str(root / "home"), MPLCONFIGDIR=str(root / "mpl"), PYTHONPATH=str(src),
                   QT_QPA_PLATFORM="offscreen", MPLBACKEND="Agg")
        setup_s = 0.0
        if install_steps:
            t = time.perf_counter()
            for cmd in ([sys.executable, "-m", "compileall", "-q", "-j", "0", "core"],
                        [sys.executable, "-c", "import matplotlib.font_manager"]):
                m = run_measured(cmd, env=env, cwd=src)
                if m.rc != 0:
                    raise RuntimeError(f"{cmd} failed: {m.stderr[-400:]}")
            setup_s = time.perf_counter() - t
        walls, stages = [], []
        for i in range(2):
            m = run_measured([sys.executable, "-m", "core.cli", "render", "--json", "-o", str(root / f"out{i}.mp4")],
                             env=env, cwd=src)
            if m.rc != 0:
                raise RuntimeError(f"render failed (rc {m.rc}): {m.stderr.strip()[-600:]}")
            walls.append(m.wall)
            stages.append(m.json_line().get("stages", {}))
        ratio = walls[0] / walls[1]
        figures[f"first_render_{key}_s"] = round(walls[0], 2)
        figures[f"warm_render_{key}_s"] = round(walls[1], 2)
        figures[f"first_over_warm_{key}"] = round(ratio, 2)
        rows.append([label, round(setup_s, 1) if install_steps else "–", round(walls[0], 1), round(walls[1], 1),
                     round(ratio, 2), ", ".join(f"{k} {v:.1f}" for k, v in stages[0].items()),
                     ", ".join(f"{k} {v:.1f}" for k, v in stages[1].items())])
    r = figures["first_over_warm_setup"]
    md = [
        "### First render after an install",
        "`synchrorama render -o OUT --json` of the sample (15 s), in a child process, twice in a row. Each row "
        "starts from a fresh copy of the project's sources (no bytecode), empty user folders (no analysis "
        "cache, no identity-guard scales for the portrait) and no matplotlib font list, as a new install "
        "has; \"after make setup\" first runs what the Makefile's set-up now does at install time "
        "(`compileall` of the sources, matplotlib's font list; its seconds are in the second column). "
        "The second render finds the analysis cached, as any render of a narration already analysed does. "
        "The installed packages are the venv's own (their bytecode is compiled by pip at install).",
        "",
        md_table(["state", "install-time steps s", "first render s", "second render s", "first / second",
                  "first: stages s", "second: stages s"], rows),
        "",
        f"Target first ≤ 2 × warm (issue 19): **{'met' if r <= 2 else 'NOT met'}** ({r:.2f}× after make setup; "
        f"{figures['first_over_warm_bare']:.2f}× with nothing prepared).",
        "",
    ]
    return {"markdown": md, "figures": figures}


def _psnr_cell(d: dict) -> str:
    v = d["psnr_vs_reference_min_db"]
    return "identical" if v >= 99 else f"{v:.1f}"


def _reading(stages: dict, alone: float, enc: float, wall: float) -> str:
    """A plain-words summary of the split, written from the measured numbers."""
    analysis = sum(v for k, v in stages.items() if k not in ("render+encode", "prepare", "prepare_wait"))
    biggest = max(((k, v) for k, v in stages.items() if k not in ("render+encode", "prepare", "prepare_wait")),
                  key=lambda kv: kv[1],
                  default=("none", 0.0))
    head = (f"Reading: analysis stages take {analysis:.1f} s ({100 * analysis / wall:.0f} %; the largest is "
            f"`{biggest[0]}` at {biggest[1]:.1f} s) and frame generation alone {alone:.1f} s "
            f"({100 * alone / wall:.0f} %); ")
    if enc < 0.5:
        return head + (f"rendering plus encoding inside the CLI took {stages.get('render+encode', 0):.1f} s, "
                       f"{-enc:.1f} s less than the renderer alone in its separate run, so this subtraction "
                       "cannot isolate the encoder; what it does show is that encoding adds no visible time: "
                       "x264 (preset veryfast) runs in its own process and overlaps with rendering on the "
                       "second core. The rest is start-up.")
    return head + (f"encoding adds {enc:.1f} s ({100 * enc / wall:.0f} %) on top: x264 runs in its own process "
                   "and mostly overlaps with rendering on the second core. The rest is start-up.")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fps-worker", action="store_true")
    p.add_argument("--track-worker", type=Path)
    p.add_argument("--profile-worker", type=Path)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--image", type=Path, default=SAMPLE / "portrait.png")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--size", type=int, default=512)
    a = p.parse_args(argv)
    if a.fps_worker:
        out = _fps_worker(a.threads, a.image, [int(s) for s in a.sizes.split(",")])
    elif a.track_worker:
        out = _track_worker(a.track_worker, a.image, a.size)
    elif a.profile_worker:
        a.profile_worker.mkdir(parents=True, exist_ok=True)
        out = _profile_worker(a.profile_worker)
    else:
        res = run(Path("out/bench"))
        print(res["markdown"])
        return
    print(json.dumps(out))


if __name__ == "__main__":
    main()
