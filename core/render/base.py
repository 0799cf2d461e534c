"""The interface every renderer implements.

A renderer is prepared once for a rig and then yields frames one at a time
for a motion track, checking the cancel token at every frame and reporting
progress, so the CLI and the GUI drive the mesh and diffusion renderers the
same way and never hold a whole video in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Protocol, runtime_checkable

if TYPE_CHECKING:   # annotations only: the CLI reads the renderer table without loading numpy
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
        """(width, height) of the frames ``frames`` yields; (0, 0) before ``prepare``."""

    def frames(self, motion: MotionTrack, cond: RenderConditioning, *,
               start: int = 0, stop: int | None = None,
               progress: Progress | None = None,
               cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        """Yield RGB uint8 frames for motion frames [start, stop)."""


@dataclass(frozen=True)
class RendererSpec:
    """One row of the renderer table: where the class lives and what it takes.

    ``takes`` are the settings every render passes (size, max_output, device,
    seed) that this renderer's constructor accepts; the rest of them are not
    its business (the mesh renderer has no random numbers, so no seed).
    ``devices`` are the devices it runs on ("auto" picks among them).
    ``options`` are its own settings (``--avatar``...). ``needs`` are the
    optional packages it imports (an ImportError naming one of them means
    the ``extra`` is not installed; any other ImportError is our own bug).
    """

    name: str
    label: str
    module: str
    cls: str
    takes: tuple[str, ...]
    devices: tuple[str, ...]
    options: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    extra: str | None = None


# what the optional "diffusion" extra installs (pyproject.toml)
OPTIONAL_DIFFUSION_PACKAGES = ("torch", "diffusers", "transformers", "accelerate")

# The one table of renderers: the CLI's --renderer choices, the project's
# export.renderer check and make_renderer all read it.
RENDERERS: dict[str, RendererSpec] = {s.name: s for s in (
    RendererSpec("mesh", "Mesh (any CPU)", "core.render.mesh", "MeshRenderer",
                 takes=("size", "max_output"), devices=("cpu",)),
    RendererSpec("diffusion", "Diffusion (trained avatar)", "core.render.diffusion.renderer",
                 "DiffusionRenderer", takes=("size", "max_output", "device", "seed"),
                 devices=("cuda", "cpu"),
                 options=("avatar", "steps", "sampler", "emotion_scale", "text_scale", "batch",
                          "models_root"),
                 needs=OPTIONAL_DIFFUSION_PACKAGES, extra="diffusion"),
)}


def renderer_names() -> list[str]:
    return list(RENDERERS)


def renderer_spec(name: str) -> RendererSpec:
    from core.errors import UserInputError

    try:
        return RENDERERS[name]
    except (KeyError, TypeError):
        raise UserInputError(f"unknown renderer {name!r}.", None,
                             f"Use one of: {', '.join(RENDERERS)}.") from None


def renderer_class(name: str) -> type:
    """The renderer's class, imported on first use (the diffusion one loads torch)."""
    import importlib

    from core.errors import UserInputError

    spec = renderer_spec(name)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in spec.needs:
            raise   # our own module is broken: an internal error with the log path
        raise UserInputError(
            f"the {name} renderer needs the optional '{spec.extra}' packages ({exc.name} is not installed).",
            None, f"Install synchrorama-studio[{spec.extra}], or use --renderer mesh (the default).") from None
    return getattr(module, spec.cls)


def make_renderer(name: str, *, size: int = 512, max_output: int = 0, device: str = "auto",
                  seed: int = 0, **options: Any) -> Renderer:
    """The renderer ``name`` from the table, built with the settings it takes.

    A device it cannot run on, or an option of another renderer, is a user
    error: nothing is quietly ignored or replaced.
    """
    from core.errors import UserInputError

    spec = renderer_spec(name)
    if device != "auto" and device not in spec.devices:
        raise UserInputError(f"the {name} renderer runs on {' or '.join(spec.devices)}, not {device!r}.", None,
                             "Use --device auto" + (f" or {spec.devices[0]}." if spec.devices else "."))
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in spec.options:
            owners = [s.name for s in RENDERERS.values() if key in s.options]
            raise UserInputError(
                f"'{key}' is not a setting of the {name} renderer"
                + (f" (it belongs to the {' / '.join(owners)} renderer)." if owners else "."), None,
                f"Drop it, or choose --renderer {owners[0]}." if owners else "Drop it.")
    common = {"size": size, "max_output": max_output, "device": device, "seed": seed}
    kwargs = {k: common[k] for k in spec.takes}
    return renderer_class(name)(**kwargs, **given)
