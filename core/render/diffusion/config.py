"""Configuration dataclasses and presets for the diffusion avatar.

Everything that fixes the shape of the weights lives in ``ModelConfig`` and
is saved as JSON beside them, so a saved avatar rebuilds exactly. Training
knobs live in ``TrainConfig``; they are saved with checkpoints so a resumed
run continues the same schedule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from core.errors import UserInputError

# Per-frame audio feature columns (see conditioning.audio_frame_features).
AUDIO_FEATURES = ("rms_db", "centroid", "flatness", "low_ratio", "f0", "voiced")
AUDIO_SUBSTEPS = 4          # 100 Hz samples kept per video frame (lip timing finer than 40 ms)
EMOTION_DIM = 3 + 8         # valence, arousal, intensity + 8 class probabilities
TEXT_DIM = 384              # MiniLM sentence embedding


@dataclass
class VAEConfig:
    """AutoencoderKL shape; the down factor is 2 ** (len(channels) - 1)."""

    channels: tuple[int, ...] = (64, 128, 256, 256)
    layers_per_block: int = 1
    latent_channels: int = 4
    norm_groups: int = 32


@dataclass
class UNetConfig:
    channels: tuple[int, ...] = (128, 256, 384)
    layers_per_block: int = 2
    head_dim: int = 32
    norm_groups: int = 32
    cross_dim: int = 256


@dataclass
class ModelConfig:
    """Shape of a diffusion avatar (or general model); saved as config.json."""

    resolution: int = 256
    vae: VAEConfig = field(default_factory=VAEConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    audio_window: int = 4               # frames either side of the current one
    train_timesteps: int = 1000
    prediction: str = "v_prediction"     # few-step samplers do better on v than on epsilon
    prev_noise_max: float = 0.3          # noise augmentation of the previous-frame latent
    # audio normalisation (mean, std per feature column), fitted on the training set
    audio_mean: tuple[float, ...] = (0.0,) * len(AUDIO_FEATURES)
    audio_std: tuple[float, ...] = (1.0,) * len(AUDIO_FEATURES)
    latent_scale: float = 1.0            # 1 / std of the VAE latents, fitted after VAE training
    text_conditioned: bool = False       # True when the training data carried scene text

    @property
    def down_factor(self) -> int:
        return 2 ** (len(self.vae.channels) - 1)

    @property
    def latent_size(self) -> int:
        return self.resolution // self.down_factor

    @property
    def audio_tokens(self) -> int:
        return 2 * self.audio_window + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        vae = VAEConfig(**_tuples(d.pop("vae", {})))
        unet = UNetConfig(**_tuples(d.pop("unet", {})))
        known = {f.name for f in fields(cls)}
        return cls(vae=vae, unet=unet, **_tuples({k: v for k, v in d.items() if k in known}))


@dataclass
class TrainConfig:
    """How long and how hard to train; saved in every checkpoint."""

    vae_steps: int = 4000
    unet_steps: int = 40000
    batch_size: int = 16
    vae_lr: float = 2e-4
    unet_lr: float = 1e-4
    kl_weight: float = 1e-6
    cond_drop: float = 0.1          # drop emotion / text independently (classifier-free guidance)
    prev_drop: float = 0.1          # train without a previous frame (first frame of a render)
    max_prev_offset: int = 4        # previous frame is 1..k frames back (frames rendered in batches of k)
    checkpoint_every: int = 1000
    validate_every: int = 1000
    val_fraction: float = 0.1       # held-out tail of every clip
    seed: int = 0
    mixed_precision: str = "auto"   # "bf16" on CUDA, "no" on the CPU

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Preset:
    model: ModelConfig
    train: TrainConfig
    sample_steps: int


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def preset(name: str, resolution: int | None = None) -> Preset:
    """Named shapes. ``tiny`` exists for tests and CPU smoke checks only."""
    if name == "tiny":
        m = ModelConfig(resolution=32, vae=VAEConfig(channels=(16, 32), latent_channels=4, norm_groups=8),
                        unet=UNetConfig(channels=(32, 64), layers_per_block=1, head_dim=8, norm_groups=8,
                                        cross_dim=32), audio_window=2)
        t = TrainConfig(vae_steps=40, unet_steps=60, batch_size=8, vae_lr=2e-3, unet_lr=1e-3,
                        checkpoint_every=50, validate_every=50)
        return Preset(m, t, sample_steps=4)
    if name == "small":
        m = ModelConfig(resolution=64, vae=VAEConfig(channels=(32, 64, 64), norm_groups=16),
                        unet=UNetConfig(channels=(64, 128, 128), layers_per_block=1, head_dim=16,
                                        norm_groups=16, cross_dim=128), audio_window=3)
        t = TrainConfig(vae_steps=600, unet_steps=3000, batch_size=8, vae_lr=1e-3, unet_lr=3e-4,
                        checkpoint_every=250, validate_every=250)
        return Preset(m, t, sample_steps=6)
    if name == "base":
        res = resolution or 256
        if res not in (256, 512):
            raise UserInputError(f"resolution {res} is not supported.", None, "Use 256 or 512.")
        vae = VAEConfig(channels=(64, 128, 256, 256) if res == 256 else (64, 128, 256, 256, 256))
        m = ModelConfig(resolution=res, vae=vae, unet=UNetConfig())
        return Preset(m, TrainConfig(), sample_steps=8)
    raise UserInputError(f"unknown preset '{name}'.", None, "Use tiny, small or base.")


PRESETS = ("tiny", "small", "base")
