"""Speed of the diffusion avatar's shapes, independent of trained weights.

Inference frames per second and training steps per second depend only on the
network shapes, the sampler steps and the device, so they are measured here
on freshly initialised weights of a preset:

    python -m core.render.diffusion.bench --preset base --resolution 256 --device cuda
    python -m core.render.diffusion.bench --preset base --resolution 512 --device cuda --batch 8

Prints one JSON line. Quality (PSNR/SSIM/mouth correlation on held-out
frames) needs a trained avatar: train-avatar writes it into training.json.
"""

from __future__ import annotations

import argparse
import json
import time


def time_sampling(pipe, batch: int, frames: int, warmup: bool = True) -> tuple[float, int]:
    """Seconds for ``frames // batch`` batches done as the renderer does them, and that batch count.

    Each batch encodes the motion frames, samples (from the previous batch's
    last latent) and decodes back to host uint8 crops. Random inputs: speed
    depends on shapes, not content. One untimed warm-up batch unless
    ``warmup`` is off (dry runs check shapes, not speed).
    """
    import numpy as np
    import torch

    cfg, dev = pipe.config, pipe.device
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (batch, cfg.resolution, cfg.resolution, 3), dtype=np.uint8)
    ref = pipe.encode(imgs[:1])
    aud = torch.zeros(batch, cfg.audio_tokens, 24, device=dev)
    emo = torch.zeros(batch, 11, device=dev)
    txt = torch.zeros(batch, 384, device=dev)
    has = torch.zeros(batch, dtype=torch.bool)

    def one(prev):
        lat = pipe.sample(ref, pipe.encode(imgs), prev, aud, emo, txt, has)
        pipe.decode(lat)
        return lat[-1:]

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    prev = one(None) if warmup else None
    sync()
    n = max(1, frames // batch)
    t0 = time.perf_counter()
    for _ in range(n):
        prev = one(prev)
    sync()
    return time.perf_counter() - t0, n


def measure(preset_name: str, resolution: int | None, device: str, steps: int | None, batch: int,
            frames: int, train_steps: int, sampler: str = "dpm++") -> dict:
    import torch

    from core.render.diffusion.config import preset
    from core.render.diffusion.losses import DenoiseLoss
    from core.render.diffusion.pipeline import AvatarPipeline, SampleSettings

    p = preset(preset_name, resolution)
    cfg = p.model
    s = SampleSettings(steps=steps or p.sample_steps, sampler=sampler, batch=batch)
    pipe = AvatarPipeline(cfg, device=device, sampling=s)
    dev = pipe.device
    res = cfg.resolution
    infer_s, n_batches = time_sampling(pipe, batch, frames)
    aud = torch.zeros(batch, cfg.audio_tokens, 24, device=dev)
    emo = torch.zeros(batch, 11, device=dev)
    txt = torch.zeros(batch, 384, device=dev)
    has = torch.zeros(batch, dtype=torch.bool)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    # training throughput of the denoiser (the long stage)
    loss_mod = DenoiseLoss(pipe.denoiser, cfg).to(dev).train()
    opt = torch.optim.AdamW(pipe.denoiser.parameters(), lr=1e-4)
    lat = torch.randn(batch, cfg.vae.latent_channels, cfg.latent_size, cfg.latent_size, device=dev)
    b = {"x": lat, "ref": lat, "motion": lat, "prev": lat, "audio": aud, "emotion": emo, "text": txt,
         "use_emotion": has | True, "use_text": has, "has_prev": has | True,
         "weight": torch.ones(batch, 1, cfg.latent_size, cfg.latent_size, device=dev),
         "noise": torch.randn_like(lat), "prev_noise": torch.randn_like(lat),
         "prev_level": torch.full((batch,), 0.1, device=dev),
         "t": torch.randint(0, cfg.train_timesteps, (batch,), device=dev)}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    t_train = 0.0
    for i in range(train_steps + 1):
        sync()
        t1 = time.perf_counter()
        with autocast:
            loss = loss_mod(b)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if i:  # first step is warm-up
            t_train += time.perf_counter() - t1
    mem = torch.cuda.max_memory_allocated() / 2 ** 30 if dev.type == "cuda" else None
    params = sum(x.numel() for x in pipe.denoiser.parameters()) + sum(x.numel() for x in pipe.vae.parameters())
    return {"preset": preset_name, "resolution": res, "latent": cfg.latent_size, "device": str(dev),
            "device_name": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
            "threads": torch.get_num_threads(), "sampler": s.sampler, "steps": s.steps, "batch": batch,
            "frames": n_batches * batch, "fps": round(n_batches * batch / infer_s, 3),
            "train_steps_per_s": round(train_steps / t_train, 3) if train_steps else None,
            "train_frames_per_s": round(train_steps * batch / t_train, 2) if train_steps else None,
            "params_m": round(params / 1e6, 2), "peak_gib": round(mem, 2) if mem else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="base", choices=["tiny", "small", "base"])
    ap.add_argument("--resolution", type=int, choices=[256, 512])
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int)
    ap.add_argument("--sampler", default="dpm++", choices=["dpm++", "ddim"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--train-steps", type=int, default=10)
    a = ap.parse_args(argv)
    print(json.dumps(measure(a.preset, a.resolution, a.device, a.steps, a.batch, a.frames, a.train_steps,
                             a.sampler)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
