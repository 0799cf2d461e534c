"""``DiffusionRenderer``: the Renderer protocol on top of a trained avatar.

Per batch of frames: the mesh renderer draws the motion frames (pose, lips,
expression), the VAE encodes them, the denoiser generates the face crops
conditioned on the reference, the previous generated frame, the audio
around each frame, the emotion and the scene text; the crops are pasted
back into the portrait with the mesh renderer's feathered composite.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import UserInputError
from core.face.rig import FaceRig
from core.progress import CancelToken, Progress
from core.render.base import RenderConditioning
from core.tracks import MotionTrack

log = logging.getLogger(__name__)


class DiffusionRenderer:
    name = "diffusion"

    def __init__(self, avatar: str | None = None, device: str = "auto", steps: int | None = None,
                 sampler: str | None = None, emotion_scale: float | None = None, text_scale: float | None = None,
                 batch: int | None = None, seed: int = 0, models_root: str | Path | None = None,
                 size: int = 512, max_output: int = 0) -> None:
        if not avatar:
            raise UserInputError("the diffusion renderer needs a trained avatar.", None,
                                 "Pass --avatar NAME (train one with `synchrorama train-avatar`; "
                                 "`synchrorama models` lists what is installed).")
        from core.render.diffusion.device import resolve_device
        from core.render.diffusion.pipeline import AvatarPipeline

        self.device = resolve_device(device)
        self.pipe = AvatarPipeline.from_pretrained(avatar, device=self.device,
                                                   root=Path(models_root) if models_root else None)
        s = self.pipe.sampling
        if steps is not None:
            if not 1 <= steps <= 200:
                raise UserInputError(f"{steps} sampling steps is out of range.", None, "Use 1..200 (4-10 is typical).")
            s.steps = int(steps)
        if sampler is not None:
            s.sampler = sampler
        if emotion_scale is not None:
            s.emotion_scale = float(emotion_scale)
        if text_scale is not None:
            s.text_scale = float(text_scale)
        if batch is not None:
            s.batch = max(1, int(batch))
        self.seed = seed
        self.size, self.max_output = size, max_output
        self._prepared = False

    def prepare(self, rig: FaceRig, size: int | None = None) -> None:
        """The mesh renderer at the face-crop size, and the reference latent.

        The avatar generates crops at the resolution it was trained at; they
        are scaled to ``size`` (the face-crop size, as for the mesh renderer)
        and pasted into the portrait, whose long side ``max_output`` caps.
        """
        from core.render.mesh import MeshRenderer

        self.work = int(size or self.size)
        self.mesh = MeshRenderer(size=self.work, max_output=self.max_output)
        self.mesh.prepare(rig, self.work)
        self.ref_img = self._to_res(self.mesh.src)
        self.ref = self.pipe.encode(self.ref_img[None])
        self._prepared = True

    def _to_res(self, img: np.ndarray) -> np.ndarray:
        import cv2

        res = self.pipe.config.resolution
        return img if img.shape[0] == res else cv2.resize(img, (res, res), interpolation=cv2.INTER_AREA)

    def _to_work(self, img: np.ndarray) -> np.ndarray:
        import cv2

        return img if img.shape[0] == self.work else cv2.resize(img, (self.work, self.work),
                                                                interpolation=cv2.INTER_CUBIC)

    @property
    def frame_size(self) -> tuple[int, int]:
        """The portrait's size (after ``prepare``; (0, 0) before)."""
        return self.mesh.frame_size if self._prepared else (0, 0)

    def conditioning(self, motion: MotionTrack, cond: RenderConditioning | None):
        """Per-frame audio tokens, emotion and text arrays for the whole track."""
        from core.render.diffusion.conditioning import (
            audio_frame_features, audio_windows, emotion_vectors, text_vectors)

        cfg = self.pipe.config
        n, fps = motion.n_frames, motion.fps
        cond = cond or RenderConditioning()
        if cond.audio_path:
            from core.io.audio import load_audio
            from core.speech.features import analyse_audio

            audio = load_audio(cond.audio_path)
            raw = audio_frame_features(analyse_audio(audio.samples, audio.sample_rate), fps, n)
        else:
            log.warning("no narration given to the diffusion renderer: audio tokens are neutral")
            raw = np.broadcast_to(np.asarray(cfg.audio_mean, np.float32), (n, 4, len(cfg.audio_mean))).copy()
        aud = audio_windows(raw, cfg.audio_window, cfg.audio_mean, cfg.audio_std)
        emo = emotion_vectors(cond.emotion, n)
        text, has_text = text_vectors(cond.scenes, fps, n)
        return aud, emo, text, has_text

    def frames(self, motion: MotionTrack, cond: RenderConditioning | None = None, *, start: int = 0,
               stop: int | None = None, progress: Progress | None = None,
               cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        import torch

        if not self._prepared:
            raise RuntimeError("prepare() the renderer with a rig first")
        stop = motion.n_frames if stop is None else min(stop, motion.n_frames)
        aud, emo, text, has_text = self.conditioning(motion, cond)
        dev = self.pipe.device
        gen = torch.Generator(device=dev).manual_seed(self.seed)
        prev = None
        batch = self.pipe.sampling.batch
        for s in range(start, stop, batch):
            if cancel is not None:
                cancel.check()
            ii = np.arange(s, min(stop, s + batch))
            crops = np.stack([self._to_res(self.mesh.render_crop(motion.weights[i], motion.head[i], motion.gaze[i]))
                              for i in ii])
            lat = self.pipe.sample(
                self.ref, self.pipe.encode(crops), prev, torch.from_numpy(aud[ii]).to(dev),
                torch.from_numpy(emo[ii]).to(dev), torch.from_numpy(text[ii]).to(dev),
                torch.from_numpy(has_text[ii]), generator=gen, cancel=cancel)
            prev = lat[-1:]
            for k, img in enumerate(self.pipe.decode(lat)):
                if cancel is not None:
                    cancel.check()
                yield self.mesh.composite(self._to_work(img))
                if progress is not None:
                    progress("render", int(ii[k]) + 1 - start, stop - start)
