"""Shared parts of the benchmarks: machine facts, measured subprocesses, history.

Renders are timed as a user runs them: ``synchrorama render`` in a child
process, wall clock, with the analysis cache in a throw-away folder so no
run is helped by an earlier one. Peak memory is read two ways because an
export is two processes (Python + the ffmpeg encoder): the kernel's peak RSS
of the largest process (VmHWM read from /proc while it runs), and the
sampled sum over the process tree.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
SAMPLE = REPO / "resources" / "sample"
HISTORY = REPO / "bench" / "history.jsonl"
# sections finished in this process (run_all fills it): later sections may quote earlier ones
RESULTS: dict[str, dict] = {}


# -- machine ------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _gpu() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return "; ".join(out.stdout.strip().splitlines())
    except (OSError, subprocess.SubprocessError):
        pass
    return "none"


def machine_info() -> dict:
    """What the figures were measured on (torch's version is read without importing it)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": _ram_gib(),
        "gpu": _gpu(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "opencv": next((v for v in map(_version, ("opencv-contrib-python", "opencv-python",
                                                  "opencv-python-headless", "opencv-contrib-python-headless"))
                        if v != "not installed"), "not installed"),
        "mediapipe": _version("mediapipe"),
        "load_avg_at_start": load,
    }


def git_commit() -> str:
    """Short hash, with '+dirty' when tracked files differ from it."""
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                           text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return (h or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- measured subprocesses ----------------------------------------------------
@dataclass
class Measured:
    """A finished child process: exit code, wall time and memory."""

    rc: int
    wall: float
    stdout: str
    stderr: str
    maxrss_mb: float            # kernel peak RSS (VmHWM) of the largest process, sampled
    tree_peak_mb: float         # sampled peak of the summed RSS of the whole tree
    series: list[tuple[float, float]] = field(default_factory=list)  # (seconds, tree MB)
    # sampled peak of the summed PSS (shared pages split among the processes that map
    # them): what the tree costs the machine when its processes share pages (forked
    # children, shared libraries), which summed RSS counts once per process
    tree_peak_pss_mb: float = 0.0

    def json_line(self) -> dict:
        """The last stdout line that parses as a JSON object (``--json`` output)."""
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
        raise RuntimeError(f"no JSON on stdout (rc {self.rc}): {self.stderr.strip()[-400:]}")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree_pids(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def tree_memory_mb(pid: int) -> tuple[float, float, float]:
    """(summed RSS, largest VmHWM, summed PSS) over ``pid`` and its descendants (MB), from /proc.

    The high-water mark is read here, while the tree runs, because a child's
    rusage is no good: a child that the (large) test or bench process forks
    carries the parent's high-water mark through exec. PSS comes from
    /proc/PID/smaps_rollup (Linux 4.14+); where it cannot be read a process
    counts with its RSS, so the sum never hides one.
    """
    rss = hwm = pss = 0
    for p in _tree_pids(pid):
        r = 0
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
                elif line.startswith("VmRSS:"):
                    r = int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
        rss += r
        share = r
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    share = int(line.split()[1])
                    break
        except (OSError, IndexError, ValueError):
            pass
        pss += share
    return rss / 1024, hwm / 1024, pss / 1024


def run_measured(cmd: list[str], *, env: dict | None = None, cwd: Path = REPO,
                 timeout: float | None = None, interval: float = 0.25) -> Measured:
    """Run ``cmd``; return its wall time, output and peak memory (sampled from Linux /proc)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        series: list[tuple[float, float]] = []
        hwm, pss_peak = [0.0], [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss, peak, pss = tree_memory_mb(proc.pid)
                series.append((time.perf_counter() - t0, rss))
                hwm[0] = max(hwm[0], peak)
                pss_peak[0] = max(pss_peak[0], pss)
                done.wait(interval)

        def kill_late() -> None:
            if not done.wait(timeout):
                proc.kill()

        threads = [threading.Thread(target=sample, daemon=True)]
        if timeout:
            threads.append(threading.Thread(target=kill_late, daemon=True))
        for t in threads:
            t.start()
        # wait without reaping, so the last high-water marks can still be read
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        done.set()
        hwm[0] = max(hwm[0], tree_memory_mb(proc.pid)[1])
        _, status = os.waitpid(proc.pid, 0)
        wall = time.perf_counter() - t0
        for t in threads:
            t.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(rc=proc.returncode, wall=wall, stdout=out.read(), stderr=err.read(),
                        maxrss_mb=hwm[0],
                        tree_peak_mb=max((m for _, m in series), default=0.0), series=series,
                        tree_peak_pss_mb=pss_peak[0])


def cli(*args: str) -> list[str]:
    """The ``synchrorama`` command line, run with this interpreter."""
    return [sys.executable, "-m", "core.cli", *args]


def bench_env(home: Path) -> dict:
    """Environment for measured runs: user dirs in ``home`` (empty caches)."""
    env = dict(os.environ)
    env["SYNCHRORAMA_HOME"] = str(home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


# -- inputs -------------------------------------------------------------------
def long_narration(out_dir: Path, repeats: int) -> tuple[Path, Path, float]:
    """The sample narration and its script ``repeats`` times over: (wav, script, seconds)."""
    from core.io.audio import load_audio
    from core.io.ffmpeg import run_ffmpeg

    out_dir.mkdir(parents=True, exist_ok=True)
    wav = out_dir / f"narration_x{repeats}.wav"
    txt = out_dir / f"narration_x{repeats}.txt"
    if not wav.exists():
        run_ffmpeg(["-y", "-stream_loop", str(repeats - 1), "-i", str(SAMPLE / "narration.wav"),
                    "-c:a", "pcm_s16le", str(wav)], check=True)
    script = (SAMPLE / "script.txt").read_text(encoding="utf-8").strip()
    txt.write_text(" ".join([script] * repeats) + "\n", encoding="utf-8")
    return wav, txt, load_audio(wav).duration


@dataclass
class RenderRun:
    """One timed ``synchrorama render`` of the sample portrait."""

    seconds_audio: float
    measured: Measured
    summary: dict
    output: Path
    tracks: Path


_RENDERS: dict[tuple, RenderRun] = {}


def timed_render(out_dir: Path, repeats: int, *, size: int = 512, image: Path | None = None) -> RenderRun:
    """Render the sample portrait over the narration x ``repeats``, once per process.

    speed.py and memory.py share the 60-s run this way when run together.
    """
    image = image or SAMPLE / "portrait.png"
    key = (repeats, size, str(image))
    if key in _RENDERS:
        return _RENDERS[key]
    wav, txt, seconds = long_narration(out_dir / "inputs", repeats)
    work = out_dir / f"render_x{repeats}_{size}"
    work.mkdir(parents=True, exist_ok=True)
    mp4, tracks = work / "out.mp4", work / "tracks.json"
    m = run_measured(cli("render", "--image", str(image), "--audio", str(wav), "--script", f"@{txt}",
                         "--size", str(size), "--no-cache", "--json", "--save-tracks", str(tracks),
                         "--overwrite", "-o", str(mp4)),   # the last bench run's video and tracks
                     env=bench_env(work / "home"))
    if m.rc != 0:
        raise RuntimeError(f"render failed (rc {m.rc}): {m.stderr.strip()[-600:]}")
    run = RenderRun(seconds_audio=seconds, measured=m, summary=m.json_line(), output=mp4, tracks=tracks)
    _RENDERS[key] = run
    return run


# -- history ------------------------------------------------------------------
def load_history(path: Path = HISTORY) -> list[dict]:
    """Every earlier run, oldest first; unreadable lines are skipped, not fatal."""
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("sections"), dict):
            runs.append(obj)
    return runs


def append_history(entry: dict, path: Path = HISTORY) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


# -- markdown -----------------------------------------------------------------
def md_table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
