"""Prepare, on the CPU, everything ``bench/gpu_check.sh`` needs on a bare CUDA machine.

The GPU machine has Python 3.12, CUDA torch, accelerate, transformers,
safetensors, numpy and OpenCV, but no diffusers, no mediapipe, no project
environment and no network. So the face tracking, the motion fit and the mesh
renderer's frames are done here, and the packages it lacks travel as wheels:

    python -m bench.gpu_prep                 # or: make gpu-prep
    -> build/gpu_check/dataset.npz           tracked crops + mesh frames + conditioning (one file)
       build/gpu_check/wheels/*.whl          diffusers and the pure/cp312 packages it needs
       build/gpu_check/prep.json             what was prepared, sizes, sha256s
       build/gpu_check_cache/                the tracked clip as .npy (stays here; not carried)

The folder must stay under 64 MiB (what can travel with the working tree);
``main`` checks that. The clip and its frames never go into git: build/ is
ignored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from core.io.files import sha256_file

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "build" / "gpu_check"
DEFAULT_CACHE = REPO / "build" / "gpu_check_cache"   # the tracked clip as .npy; never carried
DEFAULT_VIDEO = REPO.parent / "shared" / "data" / "clips" / "hdtf_KatieHill_000.mp4"
DATASET_FORMAT = "synchrorama-gpu-dataset"
DATASET_VERSION = 1
LIMIT_BYTES = 64 * 2 ** 20
# Held-out frames (the PSNR/SSIM targets and the mesh renderer's frames they are
# compared with) are stored lossless; training frames as high-quality JPEG so
# that a 256 px clip plus the wheels fits the 64 MiB that can travel.
TRAIN_JPEG_QUALITY = 95

# What diffusers needs beyond the bare machine's torch / accelerate / transformers /
# safetensors / numpy / OpenCV and their own requirements (huggingface-hub, regex,
# filelock, ...): found by importing the renderer in ``bare_site`` with only these
# added (tests/diffusion/test_gpu_check.py does exactly that).
CARRIED = ("diffusers", "requests", "charset-normalizer", "urllib3", "certifi", "idna", "pillow")
GPU_PYTHON = "3.12"
GPU_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                 "manylinux2014_x86_64")


# -- the dataset ---------------------------------------------------------------------

def prepare_clip(video: Path, resolution: int, cache: Path, seconds: float | None = None):
    """Tracked, fitted and labelled clip (``data.clip_from_video``), cached as .npy in ``cache``."""
    from core.render.diffusion.data import ClipData, clip_from_video

    key = {"source": str(video.resolve()), "size": video.stat().st_size, "mtime": int(video.stat().st_mtime),
           "resolution": resolution, "seconds": seconds}
    folder = cache / f"clip-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]}"
    stamp = folder / "key.json"
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == key:
        return ClipData.load(folder)
    t0 = time.perf_counter()
    clip = clip_from_video(video, resolution, seconds=seconds, val_fraction=0.1)
    clip.info["prepare_s"] = round(time.perf_counter() - t0, 1)
    clip.save(folder)
    stamp.write_text(json.dumps(key), encoding="utf-8")
    return ClipData.load(folder)


def _encode(images: np.ndarray, lossless: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB frames -> (concatenated PNG/JPEG bytes, offsets); PNG where ``lossless``."""
    import cv2

    chunks, offsets = [], [0]
    for img, exact in zip(images, lossless):
        bgr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
        ok, buf = (cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9]) if exact else
                   cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, TRAIN_JPEG_QUALITY]))
        if not ok:
            raise RuntimeError("OpenCV could not encode a frame")
        chunks.append(buf.reshape(-1))
        offsets.append(offsets[-1] + buf.size)
    return np.concatenate(chunks).astype(np.uint8), np.array(offsets, np.int64)


def write_dataset(clip, path: Path) -> dict:
    """One compressed .npz (no pickles) holding everything training and scoring need."""
    n = clip.n
    lossless = np.arange(n) >= clip.val_start
    frames, frames_off = _encode(np.asarray(clip.frames), lossless)
    motion, motion_off = _encode(np.asarray(clip.motion), lossless)
    meta = {"format": DATASET_FORMAT, "version": DATASET_VERSION, "name": clip.name, "fps": clip.fps,
            "val_start": int(clip.val_start), "resolution": clip.resolution, "frames": n,
            "train_jpeg_quality": TRAIN_JPEG_QUALITY,
            "info": {k: v for k, v in clip.info.items() if k != "source"} | {"source": Path(clip.info.get(
                "source", clip.name)).name}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), frames=frames, frames_off=frames_off,
        motion=motion, motion_off=motion_off, reference=np.asarray(clip.reference, np.uint8),
        audio=np.asarray(clip.audio, np.float32), emotion=np.asarray(clip.emotion, np.float32),
        has_emotion=np.asarray(clip.has_emotion, bool), text=np.asarray(clip.text, np.float32),
        has_text=np.asarray(clip.has_text, bool), mouth=np.asarray(clip.mouth, np.float32),
        valid=np.asarray(clip.valid, bool))
    tmp.replace(path)
    return meta


# -- wheels --------------------------------------------------------------------------

def download_wheels(dest: Path, python_version: str = GPU_PYTHON) -> list[Path]:
    """``pip download`` the carried packages, at the versions installed here, for the GPU machine.

    One pip call with the GPU interpreter's tags (cp312, manylinux x86-64): pure
    packages come as py3-none-any wheels, binary ones as cp312 builds (never this
    machine's own). ``--no-deps``: CARRIED is the whole set, so nothing the
    machine already has is duplicated.
    """
    from importlib.metadata import version

    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "-q", "--no-deps",
           "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp",
           "--abi", "cp" + python_version.replace(".", ""), "-d", str(dest)]
    for plat in GPU_PLATFORMS:
        cmd += ["--platform", plat]
    subprocess.run(cmd + [f"{name}=={version(name)}" for name in CARRIED], check=True)
    got = sorted(dest.glob("*.whl"))
    problems = wheel_problems([p.name for p in got], python_version)
    if problems:
        raise RuntimeError("the downloaded wheels would not install on the GPU machine: " + "; ".join(problems))
    return got


def wheel_problems(names: list[str], python_version: str = GPU_PYTHON) -> list[str]:
    """Why a set of wheel file names would not install on the GPU machine (empty: it would).

    Exactly one wheel per carried package, each tagged for CPython ``python_version``
    on manylinux x86-64 or for any platform (pip refuses two versions of one package).
    """
    from packaging.tags import Tag, cpython_tags, compatible_tags
    from packaging.utils import canonicalize_name, parse_wheel_filename

    ver = tuple(int(x) for x in python_version.split("."))
    plats = [f"manylinux_2_{n}_x86_64" for n in range(40, 4, -1)] + ["manylinux2014_x86_64", "manylinux2010_x86_64",
                                                                      "manylinux1_x86_64"]
    ok: set[Tag] = set(cpython_tags(ver, platforms=plats)) | set(compatible_tags(ver, platforms=plats))
    seen: dict[str, list[str]] = {}
    problems = []
    for name in names:
        dist, _, _, tags = parse_wheel_filename(name)
        seen.setdefault(str(canonicalize_name(dist)), []).append(name)
        if not set(tags) & ok:
            problems.append(f"{name} does not install on CPython {python_version} manylinux x86-64")
    for pkg in CARRIED:
        got = seen.get(str(canonicalize_name(pkg)), [])
        if len(got) != 1:
            problems.append(f"{pkg}: {len(got)} wheels ({', '.join(got) or 'none'}), need exactly one")
    return problems


def repack_installed(dist_name: str, dest: Path) -> Path:
    """Build a wheel from an installed distribution's own files (no network, no build).

    For CI and offline machines: the files listed in the distribution's RECORD
    are zipped with its dist-info, and RECORD is rewritten with fresh hashes,
    which is what a wheel is. The tags come from its installed WHEEL file, so
    a binary package is repacked for the interpreter that has it installed.
    """
    import base64
    import zipfile
    from importlib.metadata import distribution

    dist = distribution(dist_name)
    files = [f for f in (dist.files or []) if not str(f).startswith("..") and "__pycache__" not in str(f)
             and not str(f).endswith(".pyc")]
    info_dir = next(str(f).split("/")[0] for f in files if str(f).split("/")[0].endswith(".dist-info"))
    wheel_meta = (Path(str(dist.locate_file(info_dir))) / "WHEEL").read_text(encoding="utf-8")
    tags = [ln.split(":", 1)[1].strip() for ln in wheel_meta.splitlines() if ln.startswith("Tag:")]
    name = dist.metadata["Name"].replace("-", "_").replace(".", "_")
    tag = tags[0] if tags else "py3-none-any"
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{name}-{dist.version}-{tag}.whl"
    record_rows = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            rel = str(f)
            if rel.endswith(".dist-info/RECORD") or rel.endswith(".dist-info/INSTALLER") or \
                    rel.endswith(".dist-info/REQUESTED") or rel.endswith(".dist-info/direct_url.json"):
                continue
            src = Path(str(dist.locate_file(f)))
            if not src.is_file():
                continue
            data = src.read_bytes()
            zf.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record_rows.append(f"{rel},sha256={digest},{len(data)}")
        record_rows.append(f"{info_dir}/RECORD,,")
        zf.writestr(f"{info_dir}/RECORD", "\n".join(record_rows) + "\n")
    return out


# -- a stand-in for the bare machine (CPU dry runs and the test) ------------------------

BARE = ("torch", "accelerate", "transformers", "safetensors", "numpy")
OPENCV = ("opencv-python-headless", "opencv-python", "opencv-contrib-python", "opencv-contrib-python-headless")


def _requirement_name(req: str) -> str | None:
    """Distribution name of a Requires-Dist line, or None when it only applies to an extra."""
    import re

    if "extra ==" in req.replace("extra==", "extra =="):
        return None
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return m.group(1) if m else None


def bare_closure() -> list:
    """Installed distributions the bare GPU machine is described as having: the BARE set,
    one OpenCV build, and everything those require (their non-extra requirements)."""
    import re
    from importlib.metadata import PackageNotFoundError, distribution

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    todo = list(BARE)
    for cv in OPENCV:
        try:
            distribution(cv)
        except PackageNotFoundError:
            continue
        todo.append(cv)
        break
    else:
        raise RuntimeError("no OpenCV distribution is installed here")
    seen: dict[str, object] = {}
    while todo:
        name = todo.pop()
        if norm(name) in seen:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # a platform-conditional requirement (e.g. CUDA libraries) not installed here
        seen[norm(name)] = dist
        for req in dist.requires or []:
            if ";" in req and "extra" not in req:
                from packaging.markers import Marker

                if not Marker(req.split(";", 1)[1]).evaluate():
                    continue
            dep = _requirement_name(req)
            if dep:
                todo.append(dep)
    return list(seen.values())


def bare_site(dest: Path) -> list[str]:
    """A folder of links to the bare set's installed files only (run python -S with it on
    PYTHONPATH): what the GPU machine has, without the project's other packages."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for dist in bare_closure():
        tops = {str(f).split("/")[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            src = Path(str(dist.locate_file(top)))
            link = dest / top
            if src.exists() and not link.exists() and top != "__pycache__":
                link.symlink_to(src)
        names.append(f"{dist.metadata['Name']}=={dist.version}")
    return sorted(names)


# -- the whole preparation ------------------------------------------------------------

def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def tree_bytes(repo: Path = REPO) -> int:
    """Bytes of the files that travel with the working tree anyway (tracked, and untracked
    but not ignored), which share the 64 MiB with the carried folder."""
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "-co", "--exclude-standard"],
                           check=True, capture_output=True).stdout.split(b"\0")
    paths = (repo / n.decode() for n in names if n)
    return sum(p.stat().st_size for p in paths if p.is_file())


def prepare(out: Path, video: Path, resolution: int = 256, wheels: str = "download",
            seconds: float | None = None, cache: Path = DEFAULT_CACHE) -> dict:
    """Dataset + wheels + prep.json in ``out``; raises if the folder would not travel."""
    t0 = time.perf_counter()
    if not video.is_file():
        raise SystemExit(f"error: footage not found: {video}")
    clip = prepare_clip(video, resolution, cache, seconds)
    meta = write_dataset(clip, out / "dataset.npz")
    if wheels == "download":
        whl = download_wheels(out / "wheels")
    else:
        (out / "wheels").mkdir(parents=True, exist_ok=True)
        for old in (out / "wheels").glob("*.whl"):
            old.unlink()
        whl = [repack_installed(name, out / "wheels") for name in CARRIED]
    prepared, tree = folder_bytes(out), tree_bytes()
    travel = prepared + tree
    report = {"dataset": {"file": "dataset.npz", "bytes": (out / "dataset.npz").stat().st_size,
                          "sha256": sha256_file(out / "dataset.npz"), **meta},
              "wheels": [{"file": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in whl],
              "wheels_source": wheels, "prepared_mib": round(prepared / 2 ** 20, 2),
              "working_tree_mib": round(tree / 2 ** 20, 2), "travel_mib": round(travel / 2 ** 20, 2),
              "limit_mib": LIMIT_BYTES // 2 ** 20, "seconds": round(time.perf_counter() - t0, 1)}
    (out / "prep.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if travel >= LIMIT_BYTES:
        raise SystemExit(f"error: {out} ({prepared / 2 ** 20:.1f} MiB) and the working tree ({tree / 2 ** 20:.1f} "
                         "MiB) exceed the 64 MiB that can travel (lower --seconds, or clean the tree)")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--resolution", type=int, default=256, choices=[256, 512])
    ap.add_argument("--seconds", type=float, help="use at most this much of the clip")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the tracked clip is kept (not carried)")
    ap.add_argument("--wheels", default="download", choices=["download", "installed"],
                    help="download: cp312/any wheels from PyPI for the GPU machine; installed: repack this "
                         "environment's packages (offline; only for a machine with this Python)")
    a = ap.parse_args(argv)
    if a.cache.resolve() == a.out.resolve() or a.out.resolve() in a.cache.resolve().parents:
        raise SystemExit("error: --cache must be outside --out (it is large and must not travel)")
    report = prepare(a.out, a.video, a.resolution, a.wheels, a.seconds, a.cache)
    print(json.dumps({k: report[k] for k in ("prepared_mib", "working_tree_mib", "travel_mib", "limit_mib",
                                             "seconds")}
                     | {"dataset_mib": round(report["dataset"]["bytes"] / 2 ** 20, 2),
                        "wheels": [w["file"] for w in report["wheels"]]}))
    use = ("carry it to the GPU machine (see docs/diffusion.md)" if a.wheels == "download" else
           "its wheels suit this machine's Python only: use it for dry runs here")
    print(f"prepared {a.out}: {report['prepared_mib']} MiB + working tree {report['working_tree_mib']} MiB "
          f"= {report['travel_mib']} of 64 MiB; {use}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
