"""Training: first the autoencoder on the crops, then the denoiser on latents.

Runs in one process or many through Hugging Face ``accelerate`` (launch with
``accelerate launch`` or ``torchrun``; gloo on CPUs, NCCL on GPUs): each rank
draws its own batches, DDP averages gradients, rank 0 writes checkpoints and
the final model. Progress is reported per step with an ETA, the cancel token
is checked every step (a cancelled run writes a checkpoint so ``--resume``
continues it), and CUDA running out of memory stops with a checkpoint and
advice instead of a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Cancelled, UserInputError
from core.progress import CancelToken, Progress, no_progress
from core.render.diffusion.config import ModelConfig, TrainConfig
from core.render.diffusion.data import ClipData
from core.render.diffusion.device import resolve_device

log = logging.getLogger(__name__)
MOUTH_WEIGHT = 2.0  # extra loss weight inside the mouth box (blurry mouths are what users see first)


@dataclass
class TrainJob:
    name: str
    clips: list[ClipData]
    model: ModelConfig
    train: TrainConfig
    workdir: Path
    out_dir: Path | None = None          # where the finished model is saved (None: do not save)
    device: str = "auto"
    kind: str = "diffusion-avatar"
    resume: bool = False
    sample_steps: int = 8
    val_frames: int = 48
    preset: str = ""
    reference_png: bytes | None = None
    # mouth-opening correlation needs the face mesh (mediapipe); a machine without it
    # (the bare GPU check) scores PSNR/SSIM only and scores the mouth afterwards
    score_mouth: bool = True


@dataclass
class TrainResult:
    model_dir: str | None
    steps: dict[str, int]
    seconds: float
    history: list[dict] = field(default_factory=list)
    validation: dict = field(default_factory=dict)


# -- optimiser state as safetensors (no pickles anywhere) ---------------------------

def optimizer_tensors(opt) -> tuple[dict, list]:
    import torch

    sd = opt.state_dict()
    flat = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            flat[f"{idx}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(float(v))).detach().cpu().contiguous()
    return flat, sd["param_groups"]


def load_optimizer(opt, flat: dict, groups: list) -> None:
    state: dict = {}
    for key, v in flat.items():
        idx, k = key.split(".", 1)
        state.setdefault(int(idx), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": groups})


# -- the trainer ----------------------------------------------------------------------

class Trainer:
    def __init__(self, job: TrainJob, progress: Progress = no_progress, cancel: CancelToken | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        self.job = job
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self.say = say or (lambda msg: log.info(msg))
        self.ckpt = job.workdir / "checkpoint"

    # -- setup
    def _accelerator(self):
        import torch
        from accelerate import Accelerator

        dev = resolve_device(self.job.device, cpu_fallback=self.job.preset == "tiny")
        mp = self.job.train.mixed_precision
        if mp == "auto":
            mp = "bf16" if dev == "cuda" and torch.cuda.is_bf16_supported() else "no"
        return Accelerator(cpu=dev == "cpu", mixed_precision=mp)

    def _fit_audio_stats(self) -> None:
        from core.render.diffusion.conditioning import audio_stats

        frames = np.concatenate([np.asarray(c.audio)[c.train_index()] for c in self.job.clips])
        self.job.model.audio_mean, self.job.model.audio_std = audio_stats(frames)

    def _save_checkpoint(self, acc, state: dict, vae, den, opt) -> None:
        if not acc.is_main_process:
            return
        from safetensors.torch import save_file

        from core.io.files import atomic_write_text

        self.ckpt.mkdir(parents=True, exist_ok=True)
        unwrap = acc.unwrap_model
        save_file({k: v.detach().cpu().contiguous() for k, v in unwrap(vae).state_dict().items()},
                  str(self.ckpt / "vae.tmp"))
        save_file({k: v.detach().cpu().contiguous() for k, v in unwrap(den).state_dict().items()},
                  str(self.ckpt / "denoiser.tmp"))
        groups: list = []
        if opt is not None:
            flat, groups = optimizer_tensors(opt)
            save_file(flat, str(self.ckpt / "optimizer.tmp"))
        for stem in ("vae", "denoiser") + (("optimizer",) if opt is not None else ()):
            (self.ckpt / f"{stem}.tmp").replace(self.ckpt / f"{stem}.safetensors")
        if opt is None:
            (self.ckpt / "optimizer.safetensors").unlink(missing_ok=True)
        body = {**state, "optimizer_groups": groups, "model": self.job.model.to_dict(),
                "train": self.job.train.to_dict()}
        atomic_write_text(self.ckpt / "state.json", json.dumps(body, indent=1))

    def _load_checkpoint(self, vae, den) -> dict | None:
        from safetensors.torch import load_file

        state_path = self.ckpt / "state.json"
        if not (self.job.resume and state_path.exists()):
            return None
        state = json.loads(state_path.read_text(encoding="utf-8"))
        saved = ModelConfig.from_dict(state["model"])
        if (saved.resolution, saved.vae, saved.unet) != (self.job.model.resolution, self.job.model.vae,
                                                          self.job.model.unet):
            raise UserInputError("the checkpoint was made with a different model shape.", self.ckpt,
                                 "Resume with the same --preset and --resolution, or start afresh without --resume.")
        self.job.model = saved
        vae.load_state_dict(load_file(str(self.ckpt / "vae.safetensors")))
        den.load_state_dict(load_file(str(self.ckpt / "denoiser.safetensors")))
        opt_path = self.ckpt / "optimizer.safetensors"
        state["optimizer"] = load_file(str(opt_path)) if opt_path.exists() else None
        return state

    # -- run
    def run(self) -> TrainResult:
        import torch

        from core.render.diffusion.model import Denoiser, build_vae

        job, tc = self.job, self.job.train
        acc = self._accelerator()
        torch.manual_seed(tc.seed)  # identical initial weights on every rank
        self._fit_audio_stats()
        vae, den = build_vae(job.model), Denoiser(job.model)
        state = self._load_checkpoint(vae, den) or {"stage": "vae", "step": 0, "history": [], "seconds": 0.0}
        if state.get("step"):
            self.say(f"resuming at {state['stage']} step {state['step']}")
        self.history: list[dict] = list(state.get("history", []))
        self.seconds_before = float(state.get("seconds", 0.0))
        self.t_run = time.perf_counter()
        try:
            if state["stage"] == "vae":
                vae = self._train_vae(acc, vae, den, state)
                state = {"stage": "unet", "step": 0, "optimizer": None}
            vae.requires_grad_(False)
            latents = self._encode_all(acc, vae, den, fit_scale=state["step"] == 0 and "latent_scale_fitted" not in state)
            den = acc.unwrap_model(self._train_unet(acc, vae, den, latents, state))
            self.final_vae, self.final_denoiser = vae, den
            validation = self.validate(vae, den, acc.device) if acc.is_main_process else {}
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise UserInputError(
                f"the GPU ran out of memory (batch size {tc.batch_size}, {job.model.resolution} px).", None,
                f"Resume with --resume --batch-size {max(1, tc.batch_size // 2)}, or train at --resolution 256, "
                "or close other programs that use the GPU. The last checkpoint is kept.") from None
        model_dir = None
        if acc.is_main_process and job.out_dir is not None:
            model_dir = str(self._save_model(vae, den, validation))
        acc.wait_for_everyone()
        seconds = self.seconds_before + time.perf_counter() - self.t_run
        return TrainResult(model_dir=model_dir, steps={"vae": tc.vae_steps, "unet": tc.unet_steps},
                           seconds=round(seconds, 2), history=self.history, validation=validation)

    def _elapsed(self) -> float:
        return self.seconds_before + time.perf_counter() - self.t_run

    def _tick(self, stage: str, step: int, total: int, loss: float, t_stage: float, first: int) -> None:
        self.progress(stage, step, total)
        done = step - first
        if done and (step % max(1, total // 20) == 0 or step == total):
            rate = done / max(1e-9, time.perf_counter() - t_stage)
            eta = (total - step) / rate
            self.say(f"{stage} step {step}/{total} loss {loss:.4f} {rate:.2f} steps/s ETA {eta / 60:.1f} min")

    def _images(self, rng, n: int):
        """n random training images (real crops, motion frames, references) with mouth weight maps."""
        clips = self.job.clips
        sizes = np.array([len(c.train_index()) for c in clips], np.float64)
        ci = rng.choice(len(clips), size=n, p=sizes / sizes.sum())
        imgs, boxes = [], []
        for c in ci:
            clip = clips[c]
            i = int(rng.choice(clip.train_index()))
            kind = rng.random()
            src = clip.frames[i] if kind < 0.6 else clip.motion[i] if kind < 0.9 else clip.reference
            imgs.append(np.asarray(src))
            boxes.append(np.asarray(clip.mouth[i]))
        return np.stack(imgs), np.stack(boxes)

    def _weight_map(self, boxes: np.ndarray, size: int, scale: float):
        import torch

        w = np.ones((len(boxes), 1, size, size), np.float32)
        for k, (x0, y0, x1, y1) in enumerate(boxes * scale):
            w[k, 0, int(y0):int(math.ceil(y1)), int(x0):int(math.ceil(x1))] += MOUTH_WEIGHT
        return torch.from_numpy(w)

    def _train_vae(self, acc, vae, den, state: dict):
        import torch

        from core.render.diffusion.losses import VAELoss

        tc = self.job.train
        opt = torch.optim.AdamW(vae.parameters(), lr=tc.vae_lr, weight_decay=0.0)
        if state.get("optimizer"):
            load_optimizer(opt, state["optimizer"], state["optimizer_groups"])
        model, opt = acc.prepare(VAELoss(vae, tc.kl_weight), opt)
        first = int(state["step"])
        rng = np.random.default_rng(tc.seed + 1000 * acc.process_index + first)
        res = self.job.model.resolution
        t_stage = time.perf_counter()
        model.train()
        for step in range(first + 1, tc.vae_steps + 1):
            if self.cancel.cancelled:
                self._save_checkpoint(acc, self._state("vae", step - 1), acc.unwrap_model(model).vae, den, opt)
                raise Cancelled()
            imgs, boxes = self._images(rng, tc.batch_size)
            x = torch.from_numpy(imgs).to(acc.device).permute(0, 3, 1, 2).float() / 127.5 - 1
            wmap = self._weight_map(boxes, res, 1.0).to(acc.device)
            with acc.autocast():
                loss = model(x, wmap)
            acc.backward(loss)
            opt.step()
            opt.zero_grad(set_to_none=True)
            lv = float(loss.detach())
            self.history.append({"stage": "vae", "step": step, "loss": round(lv, 6)})
            self._tick("train autoencoder", step, tc.vae_steps, lv, t_stage, first)
            if step % tc.checkpoint_every == 0 or step == tc.vae_steps:
                self._save_checkpoint(acc, self._state("vae", step), acc.unwrap_model(model).vae, den,
                                      opt if step < tc.vae_steps else None)
        vae = acc.unwrap_model(model).vae
        vae.requires_grad_(False)
        return vae.eval()

    def _state(self, stage: str, step: int, **extra) -> dict:
        return {"stage": stage, "step": step, "history": self.history[-5000:], "seconds": self._elapsed(), **extra}

    def _encode_all(self, acc, vae, den, fit_scale: bool) -> list[dict]:
        """Latents of every frame, motion frame and reference (the VAE is frozen from here on)."""
        import torch

        from core.render.diffusion.conditioning import audio_windows
        from core.render.diffusion.pipeline import AvatarPipeline

        cfg = self.job.model
        pipe = AvatarPipeline(cfg, vae, den, device=acc.device)
        if fit_scale:
            cfg.latent_scale = 1.0
            sample = np.concatenate([np.asarray(c.frames[c.train_index()[:256]]) for c in self.job.clips])
            lat = torch.cat([pipe.encode(sample[i:i + 32]) for i in range(0, len(sample), 32)])
            cfg.latent_scale = float(1.0 / max(1e-4, lat.std().item()))
        out = []
        total = sum(c.n for c in self.job.clips)
        done = 0
        for c in self.job.clips:
            fr, mo = [], []
            for i in range(0, c.n, 32):
                self.cancel.check()
                fr.append(pipe.encode(np.asarray(c.frames[i:i + 32])))
                mo.append(pipe.encode(np.asarray(c.motion[i:i + 32])))
                done += min(32, c.n - i)
                self.progress("encode latents", done, total)
            out.append({"frames": torch.cat(fr), "motion": torch.cat(mo),
                        "ref": pipe.encode(np.asarray(c.reference)[None]),
                        "audio": torch.from_numpy(audio_windows(np.asarray(c.audio), cfg.audio_window,
                                                                cfg.audio_mean, cfg.audio_std)).to(acc.device),
                        "emotion": torch.from_numpy(np.array(c.emotion, np.float32)).to(acc.device),
                        "text": torch.from_numpy(np.array(c.text, np.float32)).to(acc.device),
                        "train": c.train_index(), "valid": np.asarray(c.valid),
                        "has_emotion": np.asarray(c.has_emotion), "has_text": np.asarray(c.has_text),
                        "mouth": np.asarray(c.mouth)})
        return out

    def _unet_batch(self, rng, lat: list[dict], device):
        import torch

        tc, cfg = self.job.train, self.job.model
        sizes = np.array([len(d["train"]) for d in lat], np.float64)
        ci = rng.choice(len(lat), size=tc.batch_size, p=sizes / sizes.sum())
        rows = {k: [] for k in ("x", "ref", "motion", "prev", "audio", "emotion", "text")}
        use_e, use_t, has_prev, boxes = [], [], [], []
        for c in ci:
            d = lat[c]
            i = int(rng.choice(d["train"]))
            j = i - int(rng.integers(1, tc.max_prev_offset + 1))
            ok = j >= 0 and bool(d["valid"][j]) and rng.random() >= tc.prev_drop
            rows["x"].append(d["frames"][i])
            rows["ref"].append(d["ref"][0])
            rows["motion"].append(d["motion"][i])
            rows["prev"].append(d["frames"][j] if ok else torch.zeros_like(d["frames"][i]))
            rows["audio"].append(d["audio"][i])
            rows["emotion"].append(d["emotion"][i])
            rows["text"].append(d["text"][i])
            has_prev.append(ok)
            use_e.append(bool(d["has_emotion"][i]) and rng.random() >= tc.cond_drop)
            use_t.append(bool(d["has_text"][i]) and rng.random() >= tc.cond_drop)
            boxes.append(d["mouth"][i])
        b = {k: torch.stack(v).to(device) for k, v in rows.items()}
        b["use_emotion"] = torch.tensor(use_e, device=device)
        b["use_text"] = torch.tensor(use_t, device=device)
        b["has_prev"] = torch.tensor(has_prev, device=device)
        b["weight"] = self._weight_map(np.stack(boxes), cfg.latent_size, 1.0 / cfg.down_factor).to(device)
        gen = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
        b["noise"] = torch.randn(b["x"].shape, generator=gen).to(device)
        b["prev_noise"] = torch.randn(b["x"].shape, generator=gen).to(device)
        b["prev_level"] = (torch.rand(len(ci), generator=gen) * cfg.prev_noise_max).to(device)
        b["t"] = torch.randint(0, cfg.train_timesteps, (len(ci),), generator=gen).to(device)
        return b

    def _train_unet(self, acc, vae, den, lat: list[dict], state: dict):
        import torch

        from core.render.diffusion.losses import DenoiseLoss

        tc = self.job.train
        opt = torch.optim.AdamW(den.parameters(), lr=tc.unet_lr, weight_decay=1e-2)
        if state.get("optimizer"):
            load_optimizer(opt, state["optimizer"], state["optimizer_groups"])
        model, opt = acc.prepare(DenoiseLoss(den, self.job.model), opt)
        first = int(state["step"])
        rng = np.random.default_rng(tc.seed + 7 + 1000 * acc.process_index + first)
        t_stage = time.perf_counter()
        model.train()
        for step in range(first + 1, tc.unet_steps + 1):
            if self.cancel.cancelled:
                self._save_checkpoint(acc, self._state("unet", step - 1, latent_scale_fitted=True), vae,
                                      acc.unwrap_model(model).den, opt)
                raise Cancelled()
            batch = self._unet_batch(rng, lat, acc.device)
            with acc.autocast():
                loss = model(batch)
            acc.backward(loss)
            acc.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            lv = float(loss.detach())
            self.history.append({"stage": "unet", "step": step, "loss": round(lv, 6)})
            self._tick("train denoiser", step, tc.unet_steps, lv, t_stage, first)
            if step % tc.validate_every == 0 and step < tc.unet_steps and acc.is_main_process:
                v = self.validate(vae, acc.unwrap_model(model).den, acc.device, quick=True)
                self.history.append({"stage": "val", "step": step, "seconds": round(self._elapsed(), 1), **v})
                self.say(f"validation at step {step}: {v}")
            if step % tc.checkpoint_every == 0 or step == tc.unet_steps:
                self._save_checkpoint(acc, self._state("unet", step, latent_scale_fitted=True), vae,
                                      acc.unwrap_model(model).den, opt)
        return acc.unwrap_model(model).den

    # -- validation and export
    def pipeline(self, vae, den, device):
        from core.render.diffusion.pipeline import AvatarPipeline, SampleSettings

        s = SampleSettings(steps=self.job.sample_steps, batch=self.job.train.max_prev_offset)
        return AvatarPipeline(self.job.model, vae, den, device=device, sampling=s, kind=self.job.kind,
                              name=self.job.name)

    def validate(self, vae, den, device, quick: bool = False) -> dict:
        """Render the held-out tail as the renderer would and compare with the real frames.

        The mesh renderer's motion frames for the same frames are scored the
        same way, so the two renderers are compared on identical ground.
        """
        from core.render.diffusion.evaluate import heldout

        was = den.training
        den.eval()
        n_max = max(4, self.job.val_frames // (4 if quick else 1))
        try:
            out, frames = heldout(self.pipeline(vae, den, device), self.job.clips, n_max,
                                  mouth=not quick and self.job.score_mouth, cancel=self.cancel)
        finally:
            den.train(was)
        if frames is not None:
            self.last_val_frames = frames["diffusion"]
        return out

    def _save_model(self, vae, den, validation: dict) -> Path:
        pipe = self.pipeline(vae, den, "cpu")
        files = {"training.json": json.dumps({
            "preset": self.job.preset, "train": self.job.train.to_dict(), "validation": validation,
            "clips": [c.info | {"name": c.name, "frames": c.n, "held_out_from": c.val_start}
                      for c in self.job.clips],
            "history": [h for h in self.history if h["stage"] == "val" or h["step"] % 10 == 0],
        }, indent=1).encode()}
        if self.job.reference_png:
            files["reference.png"] = self.job.reference_png
        folder = pipe.save_pretrained(self.job.out_dir, name=self.job.name, kind=self.job.kind,
                                      files=files, extra={"preset": self.job.preset})
        return folder
