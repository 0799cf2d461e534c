"""The interface every renderer implements.

A renderer is prepared once for a rig and then yields frames one at a time
for a motion track, checking the cancel token at every frame and reporting
progress, so the CLI and the GUI drive the mesh and diffusion renderers the
same way and never hold a whole video in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np

from core.face.rig import FaceRig
from core.progress import CancelToken, Progress
from core.tracks import EmotionTrack, MotionTrack, SceneTrack


@dataclass
class RenderConditioning:
    """Extra signals a renderer may use beyond the motion track."""

    emotion: EmotionTrack | None = None
    scenes: SceneTrack | None = None
    audio_path: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Renderer(Protocol):
    name: str

    def prepare(self, rig: FaceRig, size: int) -> None:
        """Precompute everything that depends only on the portrait."""

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames ``frames`` yields."""

    def frames(self, motion: MotionTrack, cond: RenderConditioning, *,
               start: int = 0, stop: int | None = None,
               progress: Progress | None = None,
               cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        """Yield RGB uint8 frames for motion frames [start, stop)."""


def available_renderers() -> list[str]:
    return ["mesh", "diffusion"]


# what the optional "diffusion" extra installs (pyproject.toml)
OPTIONAL_DIFFUSION_PACKAGES = ("torch", "diffusers", "transformers", "accelerate")


def make_renderer(name: str, **options: Any) -> Renderer:
    """Renderer factory; the diffusion renderer imports torch only when chosen."""
    from core.errors import UserInputError

    if name == "mesh":
        from core.render.mesh import MeshRenderer

        return MeshRenderer(**options)
    if name == "diffusion":
        try:
            from core.render.diffusion.renderer import DiffusionRenderer
        except ImportError as exc:
            if (exc.name or "").split(".")[0] not in OPTIONAL_DIFFUSION_PACKAGES:
                raise   # our own module is broken: an internal error with the log path
            raise UserInputError(
                f"the diffusion renderer needs the optional 'diffusion' packages ({exc.name} is not installed).",
                None, "Install synchrorama-studio[diffusion], or use --renderer mesh (the default).") from None
        return DiffusionRenderer(**options)
    raise UserInputError(f"unknown renderer '{name}'.", None, "Use --renderer mesh or diffusion.")
