"""The one answer to ``--device auto|cpu|cuda`` for the diffusion models, rendering and training alike."""

from __future__ import annotations

from core.errors import UserInputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str, *, cpu_fallback: bool = False) -> str:
    """'cuda' or 'cpu' for a device setting.

    ``auto`` takes the CUDA GPU; without one it takes the CPU only where that
    is reasonable (``cpu_fallback``: training the tiny preset), otherwise it
    is refused like an explicit ``cuda`` on a machine without a GPU, in the
    same words for the renderer and for training. ``cpu`` is always allowed.
    """
    if device not in DEVICES:
        raise UserInputError(f"unknown device '{device}'.", None, "Use auto, cuda or cpu.")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "auto" and cpu_fallback:
        return "cpu"
    raise UserInputError(
        "the diffusion models need an NVIDIA GPU with CUDA, and none was found.", None,
        "Run on a machine with an NVIDIA GPU and the CUDA build of PyTorch, or use --device cpu "
        "(fit for tiny models only: larger ones take days); --renderer mesh renders on any CPU.")
