"""Training losses wrapped as modules so DDP can wrap them whole."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.render.diffusion.config import ModelConfig
from core.render.diffusion.model import Denoiser, train_scheduler


class VAELoss(nn.Module):
    """Mouth-weighted L1 on pixels and on image gradients (edges), plus a small KL.

    No perceptual (LPIPS) term: its VGG weights would have to be downloaded;
    the gradient term keeps edges (teeth, lip lines) from washing out.
    """

    def __init__(self, vae, kl_weight: float):
        super().__init__()
        self.vae = vae
        self.kl_weight = kl_weight

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        post = self.vae.encode(x).latent_dist
        rec = self.vae.decode(post.sample()).sample.float()
        l1 = ((rec - x).abs() * weight).mean()
        gx = lambda z: z[..., :, 1:] - z[..., :, :-1]  # noqa: E731
        gy = lambda z: z[..., 1:, :] - z[..., :-1, :]  # noqa: E731
        edge = ((gx(rec) - gx(x)).abs() * weight[..., :, 1:]).mean() + \
               ((gy(rec) - gy(x)).abs() * weight[..., 1:, :]).mean()
        return l1 + 0.5 * edge + self.kl_weight * post.kl().mean()


class DenoiseLoss(nn.Module):
    """Mouth-weighted MSE on the v (or epsilon) target at a random timestep."""

    def __init__(self, den: Denoiser, cfg: ModelConfig):
        super().__init__()
        self.den = den
        self.sched = train_scheduler(cfg)
        self.prediction = cfg.prediction

    def forward(self, b: dict) -> torch.Tensor:
        x0, noise, t = b["x"], b["noise"], b["t"]
        self.sched.alphas_cumprod = self.sched.alphas_cumprod.to(x0.device)
        noisy = self.sched.add_noise(x0, noise, t)
        prev = torch.where(b["has_prev"][:, None, None, None],
                           b["prev"] + b["prev_level"][:, None, None, None] * b["prev_noise"],
                           torch.zeros_like(b["prev"]))
        out = self.den(noisy, t, b["ref"], b["motion"], prev, b["audio"], b["emotion"], b["text"],
                       b["use_emotion"], b["use_text"]).float()
        target = self.sched.get_velocity(x0, noise, t) if self.prediction == "v_prediction" else noise
        return (F.mse_loss(out, target, reduction="none") * b["weight"]).mean()
