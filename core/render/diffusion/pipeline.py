"""The diffusion pipeline: VAE + denoiser + sampler, saved and loaded the
diffusers way (``save_pretrained`` / ``from_pretrained``: config JSON beside
safetensors, one sub-folder per model) plus this project's manifest.json
with every file's sha256, checked before anything is loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core.errors import UserInputError
from core.render.diffusion.config import ModelConfig
from core.render.diffusion.model import Denoiser, build_vae, sample_scheduler

FORMAT = "synchrorama-diffusion"
FORMAT_VERSION = 1
KINDS = ("diffusion-avatar", "diffusion-general")


@dataclass
class SampleSettings:
    steps: int = 8
    sampler: str = "dpm++"
    emotion_scale: float = 1.0   # 1 = conditional only; >1 pushes towards the emotion
    text_scale: float = 1.0      # the same for the scene text
    batch: int = 4               # frames denoised together; also the largest previous-frame offset


class AvatarPipeline:
    """Everything needed to turn conditioning into face crops."""

    def __init__(self, config: ModelConfig, vae=None, denoiser: Denoiser | None = None, *,
                 device: str | torch.device = "cpu", sampling: SampleSettings | None = None,
                 kind: str = "diffusion-avatar", name: str = "") -> None:
        self.config = config
        self.vae = vae if vae is not None else build_vae(config)
        self.denoiser = denoiser if denoiser is not None else Denoiser(config)
        self.sampling = sampling or SampleSettings()
        self.kind, self.name = kind, name
        self.device = torch.device(device)
        self.bf16 = True  # bf16 autocast on CUDA; False runs fp32 there (the GPU check compares both)
        self.vae.to(self.device).eval()
        self.denoiser.to(self.device).eval()

    # -- latents ---------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda" and self.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    @torch.no_grad()
    def encode(self, images: np.ndarray) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> scaled latents (posterior mode: deterministic)."""
        arr = np.ascontiguousarray(images)
        if not arr.flags.writeable:  # memory-mapped training data: torch wants a writable buffer
            arr = arr.copy()
        x = torch.from_numpy(arr).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1
        with self._autocast():
            lat = self.vae.encode(x).latent_dist.mode()
        return lat.float() * self.config.latent_scale

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        with self._autocast():
            x = self.vae.decode(latents / self.config.latent_scale).sample
        x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.permute(0, 2, 3, 1).cpu().numpy()

    # -- sampling --------------------------------------------------------------
    @torch.no_grad()
    def sample(self, ref: torch.Tensor, motion: torch.Tensor, prev: torch.Tensor | None,
               audio: torch.Tensor, emotion: torch.Tensor, text: torch.Tensor, has_text: torch.Tensor,
               *, settings: SampleSettings | None = None, generator: torch.Generator | None = None,
               callback: Callable[[int, int], None] | None = None, cancel=None) -> torch.Tensor:
        """Denoise a batch of frames; returns their latents.

        Classifier-free guidance is compositional: unconditional, + emotion,
        + text, each difference scaled by its own user scale; the audio is
        always kept (it carries the lips). Passes that a scale of 1 makes
        redundant are skipped.
        """
        s = settings or self.sampling
        cfg = self.config
        b = motion.shape[0]
        dev = self.device
        if prev is None:
            prev = torch.zeros_like(motion)
        else:
            prev = prev.expand(b, -1, -1, -1) if prev.shape[0] == 1 else prev
            aug = torch.randn(prev.shape, generator=generator, device=dev) if generator is not None \
                else torch.randn_like(prev)
            prev = prev + 0.5 * cfg.prev_noise_max * aug
        ref = ref.expand(b, -1, -1, -1)
        ones = torch.ones(b, dtype=torch.bool, device=dev)
        zeros = ~ones
        use_text = has_text.to(dev).bool() & torch.tensor(cfg.text_conditioned, device=dev)
        passes = [(ones, use_text)]                       # full condition
        if s.emotion_scale != 1.0 or (s.text_scale != 1.0 and bool(use_text.any())):
            passes = [(zeros, zeros), (ones, zeros), (ones, use_text)]
        k = len(passes)
        sched = sample_scheduler(cfg, s.sampler)
        sched.set_timesteps(s.steps, device=dev)
        shape = (b, cfg.vae.latent_channels, cfg.latent_size, cfg.latent_size)
        x = torch.randn(shape, generator=generator, device=dev) * sched.init_noise_sigma
        ue = torch.cat([p[0] for p in passes])
        ut = torch.cat([p[1] for p in passes])
        rep = lambda t: t.repeat(k, *([1] * (t.dim() - 1)))  # noqa: E731
        cond_in = (rep(ref), rep(motion), rep(prev), rep(audio), rep(emotion), rep(text))
        for i, t in enumerate(sched.timesteps):
            if cancel is not None:
                cancel.check()
            xin = sched.scale_model_input(x, t)
            with self._autocast():
                out = self.denoiser(rep(xin), t, *cond_in, ue, ut).float()
            if k == 1:
                pred = out
            else:
                un, emo, full = out.chunk(3)
                pred = un + s.emotion_scale * (emo - un) + s.text_scale * (full - emo)
            x = sched.step(pred, t, x).prev_sample
            if callback is not None:
                callback(i + 1, len(sched.timesteps))
        return x

    # -- persistence -------------------------------------------------------------
    def save_pretrained(self, folder: str | Path, *, name: str | None = None, kind: str | None = None,
                        files: dict[str, bytes] | None = None, extra: dict | None = None) -> Path:
        """Write config, weights and manifest; the folder appears complete or not at all."""
        from dataclasses import asdict

        from safetensors.torch import save_file

        from core.models import write_manifest

        folder = Path(folder)
        name = name or self.name or folder.name
        kind = kind or self.kind
        tmp = folder.parent / f".saving-{folder.name}-{os.getpid()}-{int(time.time() * 1000)}"
        tmp.mkdir(parents=True)
        try:
            body = {"format": FORMAT, "version": FORMAT_VERSION, "name": name, "kind": kind,
                    "model": self.config.to_dict(), "sampling": asdict(self.sampling)}
            (tmp / "config.json").write_text(json.dumps(body, indent=2), encoding="utf-8")
            self.vae.save_pretrained(tmp / "vae", safe_serialization=True)
            self.denoiser.unet.save_pretrained(tmp / "unet", safe_serialization=True)
            save_file({k: v.detach().cpu().contiguous() for k, v in self.denoiser.cond.state_dict().items()},
                      str(tmp / "cond.safetensors"))
            for rel, data in (files or {}).items():
                (tmp / rel).write_bytes(data)
            write_manifest(tmp, name, kind, licence="trained by the user; weights belong to them",
                           extra={"resolution": self.config.resolution, **(extra or {})})
            if folder.exists():
                old = folder.parent / f".replaced-{folder.name}-{int(time.time() * 1000)}"
                folder.rename(old)
                tmp.rename(folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, device: str | torch.device = "cpu",
                        root: Path | None = None) -> "AvatarPipeline":
        """Load by folder or by installed name; every file is checked against the manifest first."""
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from safetensors.torch import load_file

        from core.models import find_model, read_manifest, verify

        p = Path(name_or_path)
        info = read_manifest(p) if p.is_dir() else find_model(str(name_or_path), root=root)
        folder = Path(info.path)
        if info.kind not in KINDS:
            raise UserInputError(f"'{info.name}' is a {info.kind} model, not a diffusion avatar.", folder,
                                 "Pick a model trained with train-avatar or train.")
        if verify(info).status != "ok":
            raise UserInputError(f"the model's files do not match its manifest ({info.status}).", folder,
                                 "Retrain it or copy the whole folder again.")
        try:
            body = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            if body.get("format") != FORMAT or int(body.get("version", 0)) > FORMAT_VERSION:
                raise ValueError("format")
            cfg = ModelConfig.from_dict(body["model"])
            sampling = SampleSettings(**body.get("sampling", {}))
        except (ValueError, KeyError, TypeError):
            raise UserInputError("the model's config.json is not one this version can read.", folder,
                                 "Update SynchroRaMa Studio or retrain the model.") from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only, never the hub
        vae = AutoencoderKL.from_pretrained(folder / "vae", use_safetensors=True)
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", use_safetensors=True)
        den = Denoiser(cfg, unet=unet)
        den.cond.load_state_dict(load_file(str(folder / "cond.safetensors")))
        return cls(cfg, vae, den, device=device, sampling=sampling, kind=info.kind, name=info.name)
