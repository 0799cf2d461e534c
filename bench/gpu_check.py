"""The diffusion renderer's GPU figures in one call on a bare CUDA machine.

Run through ``bench/gpu_check.sh`` (which installs the carried wheels into a
temporary folder first). Needs only torch, accelerate, safetensors, numpy,
OpenCV, the carried diffusers and this repository: the dataset was tracked and
fitted on the CPU by ``bench.gpu_prep`` (no mediapipe here), nothing is
downloaded. In one call of at most ``--budget-s`` seconds it

1. measures sampling + decoding frames/s of the base preset at 256 and 512 px
   (fresh weights: speed depends only on shapes), bf16 autocast and fp32;
2. measures autoencoder and denoiser training steps/s, then plans a base
   256 px avatar's schedule to fit what is left of the budget;
3. trains that avatar on the prepared clip (``core.render.diffusion.train``,
   the same trainer as ``synchrorama train-avatar``) with quick held-out
   validations along the way (time to beat the mesh renderer);
4. scores the held-out tail (PSNR/SSIM) next to the mesh renderer's frames
   computed on the CPU, and writes ``gpu_check.json``, a contact sheet and the
   generated held-out crops (``heldout.npz``, for mouth-opening scoring on the
   CPU afterwards: ``python -m bench.gpu_check --score-mouth DIR``).

``--device cpu --dry-run`` runs every step at toy sizes (one frame per
speed figure, the tiny preset on a few frames downscaled to 32 px; with
``--dry-preset base`` the base preset's own shapes on 8 + 2 frames at 256 px)
to prove the call works in a clean environment without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_FPS = {256: 25.0, 512: 10.0}
RESERVE_S = 45.0          # final validation, contact sheet and files after training
VAE_SHARE = 0.35          # share of the training budget given to the autoencoder


class Clock:
    """Seconds since the call started and what is left of its budget."""

    def __init__(self, budget_s: float) -> None:
        self.t0 = time.perf_counter()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()


# -- the prepared clip ------------------------------------------------------------------

def _decode(blob: np.ndarray, offsets: np.ndarray, idx: np.ndarray, size: int) -> np.ndarray:
    import cv2

    out = np.zeros((len(idx), size, size, 3), np.uint8)
    for k, i in enumerate(idx):
        bgr = cv2.imdecode(blob[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"frame {i} of the dataset does not decode")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        out[k] = rgb if rgb.shape[0] == size else cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return out


def load_clip(path: Path, resolution: int | None = None, train_frames: int | None = None,
              val_frames: int | None = None):
    """The ``bench.gpu_prep`` dataset as a ``ClipData``, optionally resized and cut short.

    ``train_frames``/``val_frames`` keep the first frames of the training part and
    of the held-out tail (dry runs); the held-out tail stays held out.
    """
    import cv2

    from core.render.diffusion.data import ClipData

    z = np.load(path, allow_pickle=False)
    meta = json.loads(bytes(z["meta"]).decode())
    if meta.get("format") != "synchrorama-gpu-dataset" or int(meta.get("version", 0)) != 1:
        raise SystemExit(f"error: {path} is not a dataset written by bench.gpu_prep (version 1)")
    n, vs, res0 = int(meta["frames"]), int(meta["val_start"]), int(meta["resolution"])
    train = np.arange(vs)[:train_frames] if train_frames else np.arange(vs)
    val = np.arange(vs, n)[:val_frames] if val_frames else np.arange(vs, n)
    idx = np.concatenate([train, val])
    res = resolution or res0
    k = res / res0
    ref = np.asarray(z["reference"])
    if res != res0:
        ref = cv2.resize(ref, (res, res), interpolation=cv2.INTER_AREA)
    return ClipData(name=meta["name"], fps=float(meta["fps"]), frames=_decode(z["frames"], z["frames_off"], idx, res),
                    motion=_decode(z["motion"], z["motion_off"], idx, res), reference=ref,
                    audio=z["audio"][idx], emotion=z["emotion"][idx], has_emotion=z["has_emotion"][idx],
                    text=z["text"][idx], has_text=z["has_text"][idx], mouth=z["mouth"][idx] * k,
                    valid=z["valid"][idx], val_start=len(train),
                    info=dict(meta.get("info", {})) | {"dataset_frames": n, "dataset_resolution": res0,
                                                       "source_indices": [int(idx[0]), int(idx[-1])]})


# -- environment ------------------------------------------------------------------------

def environment(device: str) -> dict:
    import accelerate
    import cv2
    import diffusers
    import safetensors
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "diffusers": diffusers.__version__, "diffusers_from": str(Path(diffusers.__file__).parent),
           "accelerate": accelerate.__version__, "safetensors": safetensors.__version__,
           "opencv": cv2.__version__, "numpy": np.__version__, "device": device,
           "mediapipe_present": _importable("mediapipe"), "threads": torch.get_num_threads()}
    if device == "cuda":
        p = torch.cuda.get_device_properties(0)
        env |= {"gpu": p.name, "gpu_memory_gib": round(p.total_memory / 2 ** 30, 1),
                "bf16_supported": torch.cuda.is_bf16_supported(), "tf32_for_fp32": True}
    return env


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


# -- speed ------------------------------------------------------------------------------

def sampling_speed(resolution: int, device: str, bf16: bool, batch: int, frames: int,
                   steps: int | None = None, warmup: bool = True) -> dict:
    """Frames/s of what the renderer does per batch: encode the motion frames, sample, decode.

    Fresh base-preset weights (speed depends on shapes, not on training);
    one warm-up batch first (dry runs skip it: they check shapes, not speed),
    then ``frames // batch`` timed batches, each using the previous batch's
    last latent like the renderer.
    """
    import torch

    from core.render.diffusion.bench import time_sampling
    from core.render.diffusion.config import preset
    from core.render.diffusion.pipeline import AvatarPipeline, SampleSettings

    p = preset("base", resolution)
    cfg = p.model
    s = SampleSettings(steps=steps or p.sample_steps, batch=batch)
    torch.manual_seed(0)
    pipe = AvatarPipeline(cfg, device=device, sampling=s)
    pipe.bf16 = bf16
    dev = pipe.device
    dt, n = time_sampling(pipe, batch, frames, warmup=warmup)
    out = {"resolution": cfg.resolution, "latent": cfg.latent_size, "precision": "bf16" if bf16 else "fp32",
           "batch": batch, "steps": s.steps, "sampler": s.sampler, "frames": n * batch,
           "seconds": round(dt, 3), "fps": round(n * batch / dt, 2)}
    if dev.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        torch.cuda.reset_peak_memory_stats()
    del pipe
    _empty_cache(dev)
    return out


def _empty_cache(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.empty_cache()


def train_rates(cfg, device: str, batch: int, steps: int) -> dict:
    """Autoencoder and denoiser training steps/s at ``batch``, used to plan the schedule.

    bf16 autocast on CUDA, as the trainer runs. Batches are built the way the
    trainer builds them (uint8 crops and weight maps on the host, noise from a
    host generator, then copied), so host-side costs are in the rate; two
    warm-up steps are not timed.
    """
    import torch

    from core.render.diffusion.losses import DenoiseLoss, VAELoss
    from core.render.diffusion.model import Denoiser, build_vae

    dev = torch.device(device)
    torch.manual_seed(0)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else \
        torch.autocast("cpu", enabled=False)
    res, ls, c = cfg.resolution, cfg.latent_size, cfg.vae.latent_channels
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 255, (2 * batch, res, res, 3), dtype=np.uint8)
    gen = torch.Generator().manual_seed(0)

    def rate(module, make_args) -> float:
        opt = torch.optim.AdamW(module.parameters(), lr=1e-5)
        module.train()
        t = 0.0
        for i in range(steps + 2):
            _sync(dev)
            t1 = time.perf_counter()
            args = make_args()
            with autocast:
                loss = module(*args)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            float(loss.detach())  # the trainer reads every loss back, which waits for the step
            _sync(dev)
            if i >= 2:
                t += time.perf_counter() - t1
        return steps / t

    def vae_args():
        imgs = pool[rng.integers(0, len(pool), batch)]
        x = torch.from_numpy(imgs).to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
        return x, torch.from_numpy(np.ones((batch, 1, res, res), np.float32)).to(dev)

    vae_loss = VAELoss(build_vae(cfg), 1e-6).to(dev)
    vae_rate = rate(vae_loss, vae_args)
    del vae_loss
    den_loss = DenoiseLoss(Denoiser(cfg), cfg).to(dev)
    lat = torch.randn(2 * batch, c, ls, ls, device=dev)

    def den_args():
        pick = [lat[int(i)] for i in rng.integers(0, len(lat), batch)]
        x = torch.stack(pick)
        ones = torch.ones(batch, dtype=torch.bool, device=dev)
        return ({"x": x, "ref": torch.stack(pick), "motion": torch.stack(pick), "prev": torch.stack(pick),
                 "noise": torch.randn(x.shape, generator=gen).to(dev),
                 "prev_noise": torch.randn(x.shape, generator=gen).to(dev),
                 "prev_level": (torch.rand(batch, generator=gen) * 0.3).to(dev),
                 "audio": torch.zeros(batch, cfg.audio_tokens, 24, device=dev),
                 "emotion": torch.zeros(batch, 11, device=dev), "text": torch.zeros(batch, 384, device=dev),
                 "use_emotion": ones, "use_text": ~ones, "has_prev": ones,
                 "weight": torch.from_numpy(np.ones((batch, 1, ls, ls), np.float32)).to(dev),
                 "t": torch.randint(0, cfg.train_timesteps, (batch,), generator=gen).to(dev)},)

    den_rate = rate(den_loss, den_args)
    del den_loss
    _empty_cache(dev)
    return {"batch": batch, "vae_steps_per_s": round(vae_rate, 3), "denoiser_steps_per_s": round(den_rate, 3),
            "vae_frames_per_s": round(vae_rate * batch, 2), "denoiser_frames_per_s": round(den_rate * batch, 2)}


def plan_steps(rates: dict, seconds: float, min_steps: int = 20) -> tuple[int, int]:
    """Autoencoder and denoiser steps that fill ``seconds`` at the measured rates."""
    vae = int(rates["vae_steps_per_s"] * seconds * VAE_SHARE)
    unet = int(rates["denoiser_steps_per_s"] * seconds * (1 - VAE_SHARE))
    return max(min_steps, vae), max(min_steps, unet)


# -- training ---------------------------------------------------------------------------

class StageTimer:
    """Progress callback that keeps when each training stage's first and last step ended,
    and cancels the run (the trainer checks the token every step) when the call's
    deadline comes closer than ``floor_s``: a plan that was too optimistic ends with
    its figures written instead of being killed by the hard limit."""

    def __init__(self, clock: Clock | None = None, floor_s: float = 0.0) -> None:
        from core.progress import CancelToken

        self.stages: dict[str, dict] = {}
        self.clock, self.floor_s = clock, floor_s
        self.cancel = CancelToken()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        st = self.stages.setdefault(stage, {"first_step": done, "t_first": now, "steps": 0, "t_last": now})
        st["t_last"], st["last_step"], st["total"] = now, done, total
        if self.clock is not None and self.clock.left() < self.floor_s:
            self.cancel.cancel()

    def rates(self, batch: int) -> dict:
        out = {}
        for name, key in (("train autoencoder", "vae"), ("train denoiser", "denoiser")):
            st = self.stages.get(name)
            if not st or st.get("last_step", 0) <= st["first_step"]:
                continue
            steps = st["last_step"] - st["first_step"]
            dt = st["t_last"] - st["t_first"]
            out[f"{key}_steps"] = st["total"]
            out[f"{key}_seconds"] = round(dt, 2)
            out[f"{key}_steps_per_s"] = round(steps / dt, 3)
            out[f"{key}_frames_per_s"] = round(steps * batch / dt, 2)
        return out


def train_avatar(clip, preset_name: str, device: str, vae_steps: int, unet_steps: int, batch: int,
                 workdir: Path, validations: int, say, timer: StageTimer) -> tuple[object, object]:
    """The project's trainer on the prepared clip; nothing saved to a model store."""
    from core.render.diffusion.config import preset
    from core.render.diffusion.train import TrainJob, Trainer

    p = preset(preset_name, clip.resolution if preset_name == "base" else None)
    t = p.train
    t.vae_steps, t.unet_steps, t.batch_size = vae_steps, unet_steps, batch
    t.validate_every = max(1, unet_steps // (validations + 1)) if validations else unet_steps + 1
    t.checkpoint_every = max(vae_steps, unet_steps) + 1  # only the end-of-stage checkpoints
    job = TrainJob(name="gpu-check", clips=[clip], model=p.model, train=t, workdir=workdir, out_dir=None,
                   device=device, preset=preset_name, sample_steps=p.sample_steps,
                   val_frames=len(clip.val_index()), score_mouth=False)
    trainer = Trainer(job, progress=timer, cancel=timer.cancel, say=say)
    return trainer, trainer.run()


def _usable(history: list[dict]) -> dict:
    """When the quick validations first beat the mesh renderer on both PSNR and SSIM."""
    vals = [h for h in history if h.get("stage") == "val" and "psnr" in h]
    for h in vals:
        if h["psnr"] > h["mesh_psnr"] and h["ssim"] > h["mesh_ssim"]:
            return {"beats_mesh_at_step": h["step"], "beats_mesh_after_s": h["seconds"]}
    return {"beats_mesh_at_step": None, "beats_mesh_after_s": None}


# -- outputs ----------------------------------------------------------------------------

def write_json(out: Path, report: dict) -> None:
    tmp = out / "gpu_check.json.tmp"
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(out / "gpu_check.json")


def write_sheet(frames: dict, out: Path) -> str:
    """real / mesh / diffusion rows of up to 10 held-out frames, at least 64 px each."""
    import cv2

    from core.render.diffusion.evaluate import contact_sheet

    n = len(frames["real"])
    every = max(1, -(-n // 10))
    scale = max(1, 64 // frames["real"].shape[1])
    sheet = contact_sheet(frames, every=every, scale=scale)
    cv2.imwrite(str(out / "heldout_real_mesh_diffusion.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return "heldout_real_mesh_diffusion.png"


def score_mouth(src: Path, out: Path) -> dict:
    """CPU, with mediapipe: mouth-opening correlation of the GPU avatar's held-out crops and
    of the mesh renderer's frames with the real ones. Reads ``src`` (what the GPU call
    wrote; may be read-only) and writes the completed gpu_check.json into ``out``."""
    from core.render.diffusion.evaluate import correlation, mouth_series

    z = np.load(src / "heldout.npz", allow_pickle=False)
    real = mouth_series(z["real"])
    res = {"mouth_corr": correlation(mouth_series(z["diffusion"]), real),
           "mesh_mouth_corr": correlation(mouth_series(z["mesh"]), real),
           "mouth_frames_with_face": int(np.isfinite(real).sum())}
    report = json.loads((src / "gpu_check.json").read_text(encoding="utf-8"))
    report.setdefault("heldout", {}).update(res)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out, report)
    return res


# -- the whole check --------------------------------------------------------------------

def run(data: Path, out: Path, device: str, dry_run: bool, clock: Clock, say, dry_preset: str = "tiny") -> dict:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but torch sees no CUDA GPU (use --device cpu --dry-run)")
    if device == "cpu" and not dry_run:
        raise SystemExit("error: the full check needs CUDA; on the CPU use --dry-run")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True   # the fp32 figures use TF32 tensor cores
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    report: dict = {"status": "running", "dry_run": dry_run, "budget_s": clock.budget_s,
                    "environment": environment(device), "dataset": str(data.name)}
    say(f"environment: {report['environment']}")
    write_json(out, report)

    # 1. sampling speed of the base preset at 256 and 512 px
    speed = []
    if dry_run:
        grid = [(256, True, 1, 1, 1), (512, False, 1, 1, 1)]   # shapes only: one frame, one step, no warm-up
    else:
        grid = [(r, bf, b, 96, None) for r in (256, 512) for bf, b in ((True, 4), (False, 4), (True, 16))]
    for res, bf16, batch, frames, steps in grid:
        speed.append(sampling_speed(res, device, bf16, batch, frames, steps, warmup=not dry_run))
        say(f"sampling: {speed[-1]}")
        report["sampling"] = speed
        write_json(out, report)
    best = {}
    for r in (256, 512):
        rows = [s for s in speed if s["resolution"] == r]
        top = max(rows, key=lambda s: s["fps"])
        best[str(r)] = {"fps": top["fps"], "precision": top["precision"], "batch": top["batch"],
                        "target_fps": TARGET_FPS[r], "meets_target": top["fps"] >= TARGET_FPS[r]}
    report["sampling_best"] = best

    # 2. training rates, then a schedule that fits the budget
    if dry_run and dry_preset == "tiny":
        clip = load_clip(data, resolution=32, train_frames=12, val_frames=4)
        preset_name, batch = "tiny", 4
    elif dry_run:  # the base preset's real shapes at the dataset's resolution, a handful of frames
        clip = load_clip(data, train_frames=8, val_frames=2)
        preset_name, batch = "base", 2
    else:
        clip = load_clip(data)
        preset_name, batch = "base", 16
    from core.render.diffusion.config import preset

    cfg = preset(preset_name, clip.resolution if preset_name == "base" else None).model
    rates = train_rates(cfg, device, batch, steps=2 if dry_run else 8)
    report["train_rates_calibration"] = rates
    say(f"training rates: {rates}")
    train_s = clock.left() - RESERVE_S
    if dry_run:
        train_s = 0.0
        vae_steps, unet_steps = (4, 4) if preset_name == "tiny" else (2, 2)
    else:
        if train_s < 60:
            raise SystemExit(f"error: only {train_s:.0f} s left for training; give a larger --budget-s")
        vae_steps, unet_steps = plan_steps(rates, train_s * 0.9)  # 10 %: encoding latents, validations
    report["plan"] = {"train_budget_s": round(train_s, 1), "vae_steps": vae_steps, "unet_steps": unet_steps,
                      "batch": batch, "preset": preset_name, "resolution": clip.resolution,
                      "train_frames": len(clip.train_index()), "heldout_frames": len(clip.val_index())}
    say(f"plan: {report['plan']}")
    write_json(out, report)

    # 3. the avatar
    from core.errors import Cancelled

    timer = StageTimer(clock, floor_s=RESERVE_S / 3)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as work:
        t0 = time.perf_counter()
        try:
            trainer, result = train_avatar(clip, preset_name, device, vae_steps, unet_steps, batch, Path(work),
                                           validations=1 if dry_run else 5, say=say, timer=timer)
        except Cancelled:
            report["training"] = {"wall_s": round(time.perf_counter() - t0, 1), **timer.rates(batch)}
            report["status"] = "training cut at the deadline: the plan was too long for this machine"
            report["seconds"] = round(clock.elapsed(), 1)
            write_json(out, report)
            raise SystemExit(f"error: {report['status']}; rates so far: {report['training']}") from None
        wall = time.perf_counter() - t0
    vh = [h for h in result.history if h["stage"] == "val"]
    losses = {st: [h["loss"] for h in result.history if h["stage"] == st] for st in ("vae", "unet")}
    report["training"] = {"wall_s": round(wall, 1), "trainer_s": result.seconds, **timer.rates(batch),
                          "loss_first": {k: round(float(np.mean(v[:10])), 5) for k, v in losses.items() if v},
                          "loss_last": {k: round(float(np.mean(v[-10:])), 5) for k, v in losses.items() if v},
                          "validations": vh, **_usable(vh)}
    v = result.validation
    report["heldout"] = dict(v) | {
        "beats_mesh_psnr": bool(v and v["psnr"] > v["mesh_psnr"]),
        "beats_mesh_ssim": bool(v and v["ssim"] > v["mesh_ssim"])}
    say(f"held-out: {report['heldout']}")

    # 4. frames for viewing and for mouth scoring on the CPU
    frames = {"diffusion": trainer.last_val_frames, "real": np.asarray(clip.frames[clip.val_index()]),
              "mesh": np.asarray(clip.motion[clip.val_index()])}
    report["files"] = [write_sheet(frames, out), "heldout.npz", "gpu_check.json"]
    np.savez_compressed(out / "heldout.npz", **frames)
    report["status"] = "done"
    report["seconds"] = round(clock.elapsed(), 1)
    write_json(out, report)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("build/gpu_check/dataset.npz"))
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "build/gpu_check_out"))
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--dry-run", action="store_true", help="toy sizes: proves the call works without a GPU")
    ap.add_argument("--dry-preset", default="tiny", choices=["tiny", "base"],
                    help="dry runs: train the tiny preset at 32 px (CI) or the base preset on 8 + 2 frames")
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="seconds this call may take in all (training is planned to fit)")
    ap.add_argument("--score-mouth", type=Path, metavar="DIR",
                    help="CPU afterwards: DIR/gpu_check.json plus mouth-opening correlations of DIR/heldout.npz, "
                         "written to --out (needs mediapipe)")
    a = ap.parse_args(argv)
    clock = Clock(a.budget_s)  # before torch is imported: its import counts against the budget

    def say(msg: str) -> None:
        print(f"[gpu_check] {msg}", file=sys.stderr, flush=True)

    if a.score_mouth:
        print(json.dumps(score_mouth(a.score_mouth, a.out)))
        return 0
    if not a.data.is_file():
        raise SystemExit(f"error: {a.data} not found; run `make gpu-prep` (python -m bench.gpu_prep) first")
    report = run(a.data, a.out, a.device, a.dry_run, clock, say, a.dry_preset)
    print(json.dumps({"status": report["status"], "seconds": report["seconds"], "out": str(a.out),
                      "sampling_best": report["sampling_best"], "heldout": report["heldout"],
                      "diffusers_from": report["environment"]["diffusers_from"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
