"""Diffusion renderer: speed of the network shapes, and a tiny avatar trained on real footage.

What runs depends on the machine:

* always (CPU): the tiny preset's sampling frames/s and denoiser training
  steps/s (``core.render.diffusion.bench.measure``), then ``synchrorama
  train-avatar --preset tiny --device cpu`` on the HDTF dev clip (when
  ../shared/data is present), its held-out PSNR/SSIM next to the mesh
  renderer's on the same frames, and a 4-s render with the avatar;
* with CUDA: the base preset's inference frames/s at 256 and 512 px and its
  training throughput (the issue's targets: >= 25 fps at 256, >= 10 fps at
  512 on one H100). Without CUDA the section says these were not measured
  and gives the commands that measure them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, SAMPLE, SHARED_DATA, md_table

TITLE = "Diffusion renderer"
CLIP = SHARED_DATA / "clips" / "hdtf_KatieHill_000.mp4"
GPU_COMMANDS = """\
make gpu-prep                 # CPU, here: build/gpu_check/ = dataset.npz + cp312/pure wheels (< 64 MiB with the tree)
bash bench/gpu_check.sh       # bare GPU machine, carrying build/gpu_check: <= 8 min, writes $OUT/gpu_check.json,
                              #   heldout_real_mesh_diffusion.png, heldout.npz
python -m bench.gpu_check --score-mouth DIR --out DEST   # CPU, afterwards: mouth-opening correlations"""
GPU_FIGURES = [  # where the GPU check's figures go once measured (gpu_check.json keys)
    ["sampling fps, 256 px (best of bf16/fp32, batch 4/16; target ≥ 25)", "`sampling_best.256`"],
    ["sampling fps, 512 px (target ≥ 10)", "`sampling_best.512`"],
    ["autoencoder / denoiser training steps/s and frames/s, batch 16, bf16",
     "`training.*_steps_per_s`, `*_frames_per_s`"],
    ["time to beat the mesh renderer on held-out PSNR and SSIM", "`training.beats_mesh_after_s`"],
    ["held-out PSNR / SSIM, base 256 avatar vs mesh renderer vs still crop (20 frames)", "`heldout`"],
    ["mouth-opening correlation, avatar vs mesh renderer", "`heldout.mouth_corr`, `mesh_mouth_corr`"],
]


def _speed(preset: str, resolution: int | None, device: str, batch: int, frames: int, train_steps: int,
           threads: int | None = None) -> dict:
    """One JSON line from ``core.render.diffusion.bench`` in a child process (its own thread count)."""
    cmd = [sys.executable, "-m", "core.render.diffusion.bench", "--preset", preset, "--device", device,
           "--batch", str(batch), "--frames", str(frames), "--train-steps", str(train_steps)]
    if resolution:
        cmd += ["--resolution", str(resolution)]
    env = dict(os.environ)
    if threads:  # a small CPU model on a shared machine: one thread is steadier than spinning OpenMP teams
        env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"diffusion bench failed: {proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _train_tiny_avatar(out_dir: Path, home: Path) -> dict:
    """``train-avatar --preset tiny --device cpu`` on the dev clip, as a user runs it (child process)."""
    cmd = [sys.executable, "-m", "core.cli", "train-avatar", "--video", str(CLIP), "--name", "katie-tiny",
           "--preset", "tiny", "--device", "cpu", "--workdir", str(home / "work"), "--json"]
    env = {**os.environ, "SYNCHRORAMA_HOME": str(home)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"train-avatar failed: {proc.stderr[-1500:]}")
    (out_dir / "train-avatar.log").write_text(proc.stderr, encoding="utf-8")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    rates = [float(line.split(" steps/s")[0].rsplit(" ", 1)[1]) for line in proc.stderr.splitlines()
             if line.startswith("train denoiser step") and " steps/s" in line]
    summary["wall_s"] = round(wall, 1)
    summary["denoiser_steps_per_s"] = rates[-1] if rates else None
    return summary


def _heldout_and_render(model_dir: Path, clip_dir: Path, out_dir: Path) -> dict:
    """Held-out scores on every held-out frame (contact sheet saved) and a 4-s render with the avatar."""
    import cv2

    from core.io.ffmpeg import run_ffmpeg
    from core.pipeline import RenderRequest, render
    from core.render.diffusion.data import ClipData
    from core.render.diffusion.evaluate import contact_sheet, heldout
    from core.render.diffusion.pipeline import AvatarPipeline

    pipe = AvatarPipeline.from_pretrained(model_dir, device="cpu")
    scores, frames = heldout(pipe, [ClipData.load(clip_dir)])
    sheet = contact_sheet(frames, every=2, scale=4)
    cv2.imwrite(str(out_dir / "heldout_real_mesh_diffusion.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    wav = out_dir / "narration4s.wav"
    run_ffmpeg(["-y", "-i", str(SAMPLE / "narration.wav"), "-t", "4", str(wav)], check=True)
    mp4 = out_dir / "katie-tiny.mp4"
    res = render(RenderRequest(image=model_dir / "reference.png", audio=wav, output=mp4, renderer="diffusion",
                               renderer_options={"avatar": str(model_dir), "device": "cpu"},
                               cache_root=out_dir / "cache"))
    run_ffmpeg(["-y", "-i", str(mp4), "-vf", "select=eq(n\\,50)", "-vframes", "1",
                str(out_dir / "katie-tiny_frame50.png")], check=True)
    render_s = float(res.stages.get("render+encode", 0.0))
    return {"heldout": scores, "render_frames": res.frames, "render_size": f"{res.width}x{res.height}",
            "render_fps": round(res.frames / render_s, 2) if render_s else None}


def run(out_dir: Path) -> dict:
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    parts: list[str] = []
    cuda = torch.cuda.is_available()
    load = os.getloadavg()[0]
    parts.append(f"1-minute load average when this section started: {load:.1f} on {os.cpu_count()} cores "
                 "(CPU figures drop steeply on a shared, loaded machine).")
    figures["load_at_start"] = round(load, 2)

    # 1. speed of the tiny preset on the CPU (fresh weights: speed does not depend on them)
    tiny = _speed("tiny", None, "cpu", batch=4, frames=32, train_steps=20, threads=1)
    figures.update({"tiny_cpu_sample_fps": tiny["fps"], "tiny_cpu_train_steps_per_s": tiny["train_steps_per_s"]})
    parts.append(
        "**CPU, tiny preset** (32 px crops, 16² latent, 4 DPM-Solver++ steps, batch 4, "
        f"{tiny['threads']} torch thread(s), fresh weights; `OMP_NUM_THREADS=1 python -m "
        "core.render.diffusion.bench --preset tiny --device cpu --batch 4 --frames 32 --train-steps 20`):\n\n"
        + md_table(["figure", "value"], [
            ["sampling + decoding, crops/s", f"{tiny['fps']:.1f}"],
            ["denoiser training steps/s (batch 4)", f"{tiny['train_steps_per_s']:.2f}"],
            ["denoiser training frames/s", f"{tiny['train_frames_per_s']:.1f}"],
            ["parameters (VAE + denoiser)", f"{tiny['params_m']} M"]]))

    # 2. a tiny avatar on real footage (CPU smoke: shows the path works, not quality)
    if CLIP.exists():
        with tempfile.TemporaryDirectory(prefix="bench-diffusion-") as tmp:
            home = Path(tmp)
            s = _train_tiny_avatar(out_dir, home)
            model_dir = Path(s["model_dir"])
            clip_dir = home / "work" / "data" / CLIP.stem
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # measured: 2 OpenMP threads on a loaded 2-core machine ran 10-20x slower
            try:
                ev = _heldout_and_render(model_dir, clip_dir, out_dir)
            finally:
                torch.set_num_threads(threads)
        h = ev["heldout"]
        figures.update({"tiny_katie_train_wall_s": s["wall_s"], "tiny_katie_train_s": s["seconds"],
                        "tiny_katie_psnr": h["psnr"], "tiny_katie_ssim": h["ssim"],
                        "tiny_katie_mesh_psnr": h["mesh_psnr"], "tiny_katie_mesh_ssim": h["mesh_ssim"]})
        if s.get("denoiser_steps_per_s"):
            figures["tiny_katie_denoiser_steps_per_s"] = s["denoiser_steps_per_s"]
        if ev["render_fps"]:
            figures["tiny_katie_render_fps"] = ev["render_fps"]
        beats = h["psnr"] > h["mesh_psnr"] and h["ssim"] > h["mesh_ssim"]
        parts.append(
            f"**CPU smoke on real footage**: `synchrorama train-avatar --video {CLIP.name} --preset tiny "
            f"--device cpu` (8 s HDTF clip, 200 frames, last 10 % held out; 40 autoencoder + 60 denoiser "
            f"steps): {s['wall_s']:.0f} s wall end to end (tracking, motion fit, emotion labels, "
            f"training, validation), {s['seconds']:.0f} s of it training; denoiser loss "
            f"{s['loss_first']} → {s['loss_last']}.\n\n"
            + md_table(["held-out frames", "PSNR (dB)", "SSIM"], [
                [f"diffusion avatar (tiny, CPU), {h['frames']} frames", f"{h['psnr']:.2f}", f"{h['ssim']:.3f}"],
                ["mesh renderer, same frames", f"{h['mesh_psnr']:.2f}", f"{h['mesh_ssim']:.3f}"],
                ["still reference crop (floor)", f"{h['still_psnr']:.2f}", f"{h['still_ssim']:.3f}"]])
            + "\n\n"
            + ("The tiny avatar beats the mesh renderer here." if beats else
               "The tiny CPU avatar does **not** beat the mesh renderer: 100 optimisation steps on a "
               "32-px model give a blurred face (see `heldout_real_mesh_diffusion.png` in the bench "
               "output); the comparison that matters needs the base preset trained on a GPU.")
            + f" Mouth-opening correlation is not computed at 32 px (the face mesh finds no face in such "
            f"crops). A 4-s render with this avatar at {ev['render_size']}: {ev['render_frames']} frames, "
            f"{ev['render_fps']} frames/s for render + encode on the CPU (1 torch thread).")
    else:
        parts.append(f"The dev clip `{CLIP}` is not present: the real-footage smoke run was skipped.")

    # 3. the GPU figures
    if cuda:
        rows = []
        for res in (256, 512):
            g = _speed("base", res, "cuda", batch=8, frames=256, train_steps=20)
            figures[f"base{res}_cuda_fps"] = g["fps"]
            figures[f"base{res}_cuda_train_frames_per_s"] = g["train_frames_per_s"]
            target = 25 if res == 256 else 10
            rows.append([f"{res} px", g["device_name"], f"{g['fps']:.1f}", f"≥ {target}",
                         f"{g['train_frames_per_s']:.0f}", f"{g['peak_gib']} GiB"])
        parts.append("**GPU, base preset** (8 DPM-Solver++ steps, batch 8, bf16 autocast, fresh weights):\n\n"
                     + md_table(["crop", "GPU", "inference fps", "target", "training frames/s", "peak memory"],
                                rows)
                     + "\n\nHeld-out quality of a GPU-trained avatar: run the `train-avatar` command below; "
                       "it writes the figures into the model's `training.json`.")
    else:
        parts.append(
            "**GPU figures: not measured on this machine** (no CUDA GPU). The issue's targets — inference "
            "≥ 25 fps at 256 px and ≥ 10 fps at 512 px on one H100/H200, training throughput, time to a usable "
            "avatar, held-out PSNR/SSIM (and mouth-opening correlation) of a base avatar against the mesh "
            "renderer — come from one prepared call on a bare CUDA machine (no diffusers, no mediapipe, no "
            "project venv, no network; see [docs/diffusion.md](diffusion.md#gpu-figures-still-to-take)):"
            "\n\n```\n" + GPU_COMMANDS + "\n```\n\nWhere its figures go, once measured:\n\n"
            + md_table(["figure", "gpu_check.json", "value"], [r + ["pending (no GPU yet)"] for r in GPU_FIGURES])
            + "\n\nThe dry run of the same call (`bash bench/gpu_check.sh --device cpu --dry-run`, toy sizes) "
              "passes in CI in an environment holding only torch, accelerate, transformers, safetensors, numpy "
              "and OpenCV plus the carried wheels (`tests/diffusion/test_gpu_check.py`). With the full project "
              "environment on a GPU machine, `python -m core.render.diffusion.bench --preset base --resolution "
              "256 --device cuda` (and 512) and `python -m bench.run_all --only diffusion` also work.")
    return {"title": TITLE, "markdown": "\n\n".join(parts), "figures": figures}


if __name__ == "__main__":
    r = run(REPO / "out" / "bench" / "diffusion")
    print(r["markdown"])
    print(json.dumps(r["figures"], indent=1))
