"""The networks: diffusers' AutoencoderKL and UNet2DConditionModel, plus a
small conditioning encoder that turns audio, emotion and scene text into the
UNet's cross-attention tokens. Imported only when the diffusion path is used.
"""

from __future__ import annotations

import torch
from torch import nn

from core.render.diffusion.config import AUDIO_FEATURES, AUDIO_SUBSTEPS, EMOTION_DIM, TEXT_DIM, ModelConfig


def build_vae(cfg: ModelConfig):
    from diffusers import AutoencoderKL

    n = len(cfg.vae.channels)
    return AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=tuple(cfg.vae.channels), layers_per_block=cfg.vae.layers_per_block,
        latent_channels=cfg.vae.latent_channels, norm_num_groups=cfg.vae.norm_groups,
        sample_size=cfg.resolution)


def build_unet(cfg: ModelConfig):
    """Input: noisy, reference, motion and previous latents stacked on channels."""
    from diffusers import UNet2DConditionModel

    u = cfg.unet
    n = len(u.channels)
    # cross-attention everywhere except the lowest resolution (as in Stable Diffusion)
    down = tuple("CrossAttnDownBlock2D" if i < n - 1 else "DownBlock2D" for i in range(n))
    up = tuple("UpBlock2D" if i == 0 else "CrossAttnUpBlock2D" for i in range(n))
    c = cfg.vae.latent_channels
    return UNet2DConditionModel(
        sample_size=cfg.latent_size, in_channels=4 * c, out_channels=c,
        down_block_types=down, up_block_types=up, block_out_channels=tuple(u.channels),
        layers_per_block=u.layers_per_block, cross_attention_dim=u.cross_dim,
        attention_head_dim=tuple(max(1, ch // u.head_dim) for ch in u.channels),  # diffusers: heads
        norm_num_groups=u.norm_groups)


class CondEncoder(nn.Module):
    """Audio window -> 2W+1 tokens, emotion -> 1 token, text -> 1 token.

    Emotion and text each have a learned "absent" embedding that replaces
    them when dropped (classifier-free guidance) or missing. The swap uses
    ``torch.where`` so every parameter stays in the graph (DDP needs that).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.unet.cross_dim
        self.audio = nn.Sequential(nn.Linear(AUDIO_SUBSTEPS * len(AUDIO_FEATURES), d), nn.SiLU(), nn.Linear(d, d))
        self.audio_pos = nn.Parameter(torch.randn(cfg.audio_tokens, d) * 0.02)
        self.emotion = nn.Sequential(nn.Linear(EMOTION_DIM, d), nn.SiLU(), nn.Linear(d, d))
        self.text = nn.Linear(TEXT_DIM, d)
        self.null_emotion = nn.Parameter(torch.zeros(d))
        self.null_text = nn.Parameter(torch.zeros(d))
        self.kind = nn.Parameter(torch.randn(3, d) * 0.02)
        self.norm = nn.LayerNorm(d)

    def forward(self, audio: torch.Tensor, emotion: torch.Tensor, text: torch.Tensor,
                use_emotion: torch.Tensor, use_text: torch.Tensor) -> torch.Tensor:
        a = self.audio(audio) + self.audio_pos + self.kind[0]
        e = torch.where(use_emotion[:, None], self.emotion(emotion), self.null_emotion) + self.kind[1]
        t = torch.where(use_text[:, None], self.text(text), self.null_text) + self.kind[2]
        return self.norm(torch.cat([a, e[:, None], t[:, None]], 1))


class Denoiser(nn.Module):
    """UNet + conditioning encoder as one module (one DDP wrapper, one optimiser)."""

    def __init__(self, cfg: ModelConfig, unet=None, cond: CondEncoder | None = None):
        super().__init__()
        self.unet = unet if unet is not None else build_unet(cfg)
        self.cond = cond if cond is not None else CondEncoder(cfg)

    def forward(self, noisy, t, ref, motion, prev, audio, emotion, text, use_emotion, use_text):
        tokens = self.cond(audio, emotion, text, use_emotion, use_text)
        x = torch.cat([noisy, ref, motion, prev], 1)
        return self.unet(x, t, encoder_hidden_states=tokens).sample


def train_scheduler(cfg: ModelConfig):
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=cfg.train_timesteps, beta_schedule="scaled_linear",
                         beta_start=0.00085, beta_end=0.012, prediction_type=cfg.prediction,
                         clip_sample=False)


def sample_scheduler(cfg: ModelConfig, sampler: str):
    """DDIM or DPM-Solver++ (2M); 'trailing' spacing starts few-step runs at pure noise."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    base = train_scheduler(cfg).config
    if sampler == "ddim":
        return DDIMScheduler.from_config(base, timestep_spacing="trailing", set_alpha_to_one=False)
    if sampler in ("dpm++", "dpmsolver++"):
        return DPMSolverMultistepScheduler.from_config(base, algorithm_type="dpmsolver++", solver_order=2,
                                                       timestep_spacing="trailing", final_sigmas_type="zero")
    from core.errors import UserInputError

    raise UserInputError(f"unknown sampler '{sampler}'.", None, "Use ddim or dpm++.")
