"""Does the rendered face show the emotion? fer's classifier and dlib identity on renders.

Used by bench/emotion_presets.py and tests/emotion: the real pipeline
(``core.pipeline.analyse``: alignment, SER, fusion, user control, A2M,
emotion -> units) builds the motion, the mesh renderer draws every
``step``-th frame's face crop, fer's mini-Xception (core.face.expression)
reads each frame and the probabilities are averaged; identity is the dlib
distance of each frame to the portrait itself (mean over frames).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# our classes -> fer's (fer has no contempt)
TO_FER = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
          "surprised": "surprise", "fearful": "fear", "disgusted": "disgust", "contempt": None}
# RAVDESS emotion code -> fer class (calm counts as neutral)
RAVDESS_FER = {"01": "neutral", "02": "neutral", "03": "happy", "04": "sad", "05": "angry",
               "06": "fear", "07": "disgust", "08": "surprise"}
RAVDESS_SCRIPT = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}


@dataclass
class RenderReading:
    mean_probs: dict[str, float]
    top: str
    identity: float | None
    frames: int
    png: np.ndarray | None = field(default=None, repr=False)   # one frame to look at


class FaceReader:
    """A portrait's renderer plus the classifier and embedder, reused across emotions."""

    def __init__(self, image: str | Path, size: int = 512, cache_root: Path | None = None):
        from core.face.expression import ExpressionClassifier
        from core.face.identity import FaceEmbedder
        from core.face.rig import load_rig
        from core.io.image import load_image
        from core.render.mesh import MeshRenderer

        self.image = Path(image)
        self.rig = load_rig(self.image)
        self.renderer = MeshRenderer(size=size)
        self.renderer.prepare(self.rig, size)
        self.clf = ExpressionClassifier()
        self.emb = FaceEmbedder()
        pts = self.rig.landmarks[:, :2]
        box = (*pts.min(0).tolist(), *pts.max(0).tolist())
        self.portrait_embedding = self.emb.embed(load_image(self.image), box)
        # without a cache folder of the caller's, the analysis cache lives in a
        # temporary folder that is removed with the reader (or at exit)
        self._tmp = None if cache_root else tempfile.TemporaryDirectory(prefix="emo-cache-")
        self.cache_root = Path(cache_root) if cache_root else Path(self._tmp.name)

    def motion(self, audio: str | Path, script: str | None, emotion: str, strength: float = 1.0,
               curve: str | Path | None = None, scenes: list | None = None):
        from core.pipeline import RenderRequest, analyse

        req = RenderRequest(image=self.image, audio=Path(audio), script=script, emotion=emotion,
                            emotion_strength=strength, cache_root=self.cache_root,
                            emotion_curve=str(curve) if curve else None, scenes=list(scenes or []))
        _, _, tracks = analyse(req, rig=self.rig)
        return tracks

    def read_motion(self, motion, step: int = 3, identity: bool = True,
                    frames: list[int] | None = None) -> RenderReading:
        from core.face.expression import CLASSES, face_box

        idx = frames if frames is not None else list(range(0, motion.n_frames, step))
        probs, dists, keep = [], [], None
        for i in idx:
            img = self.renderer.render_crop(motion.weights[i], motion.head[i], motion.gaze[i])
            box = face_box(img)
            if box is None:
                continue
            p = self.clf.predict(img, box)
            probs.append([p[c] for c in CLASSES])
            if identity:
                dists.append(float(np.linalg.norm(self.emb.embed(img, box) - self.portrait_embedding)))
            if keep is None or len(probs) == (len(idx) + 1) // 2:
                keep = img
        mean = np.mean(probs, 0) if probs else np.full(len(CLASSES), np.nan)
        mp = {c: float(v) for c, v in zip(CLASSES, mean)}
        top = max(mp, key=mp.get) if probs else "none"
        return RenderReading(mp, top, float(np.mean(dists)) if dists else None, len(probs), keep)


def steady_motion(emotion: str, portrait: dict[str, float], n: int = 12, fps: float = 25.0):
    """A silent MotionTrack showing ``emotion`` (forced) on a portrait with fer reading ``portrait``."""
    from core.emotion.control import force_emotion
    from core.emotion.face import emotion_to_motion
    from core.tracks import EmotionTrack, MotionTrack

    t = force_emotion(EmotionTrack.neutral(n, fps), emotion)
    t.sources.update({f"portrait_{k}": float(v) for k, v in portrait.items()})
    m = MotionTrack.rest(n, fps)
    emotion_to_motion(m, t)
    return m


def ravdess_label(path: Path) -> tuple[str, str, str, str]:
    """(fer class, intensity code, statement code, actor) from a RAVDESS file name."""
    parts = path.stem.split("-")
    return RAVDESS_FER[parts[2]], parts[3], parts[4], parts[6]
