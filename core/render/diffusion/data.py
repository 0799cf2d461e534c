"""Training data: stabilised face crops, their motion frames and conditioning.

A clip becomes a ``ClipData``: the real face crops (targets), the mesh
renderer's frames for the same motion (the model's input at render time),
the reference crop, audio features, emotion labels, scene text and the
mouth box of every frame (the loss weighs the mouth more). It is stored as
plain .npy files (memory-mapped on load), never pickles.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import UserInputError
from core.progress import CancelToken, Progress, no_progress
from core.render.diffusion.config import EMOTION_DIM, TEXT_DIM

ARRAYS = ("frames", "motion", "reference", "audio", "emotion", "has_emotion", "text", "has_text",
          "mouth", "valid")
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


@dataclass
class ClipData:
    name: str
    fps: float
    frames: np.ndarray        # (T, R, R, 3) uint8 real face crops
    motion: np.ndarray        # (T, R, R, 3) uint8 mesh-renderer frames for the fitted motion
    reference: np.ndarray     # (R, R, 3) uint8 the identity image (first frame's crop)
    audio: np.ndarray         # (T, S, 6) raw audio features (conditioning.audio_frame_features)
    emotion: np.ndarray       # (T, 11)
    has_emotion: np.ndarray   # (T,) bool: labels exist
    text: np.ndarray          # (T, 384)
    has_text: np.ndarray      # (T,) bool
    mouth: np.ndarray         # (T, 4) x0, y0, x1, y1 in crop pixels
    valid: np.ndarray         # (T,) bool: face found in this frame
    val_start: int            # frames from here on are held out
    info: dict = field(default_factory=dict)
    portrait: np.ndarray | None = None  # the first frame, whole: the avatar's portrait for rendering

    @property
    def n(self) -> int:
        return int(len(self.frames))

    @property
    def resolution(self) -> int:
        return int(self.frames.shape[1])

    def train_index(self) -> np.ndarray:
        return np.nonzero(self.valid[: self.val_start])[0]

    def val_index(self) -> np.ndarray:
        return np.nonzero(self.valid[self.val_start:])[0] + self.val_start

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for k in ARRAYS:
            np.save(folder / f"{k}.npy", np.asarray(getattr(self, k)), allow_pickle=False)
        if self.portrait is not None:
            np.save(folder / "portrait.npy", np.asarray(self.portrait), allow_pickle=False)
        meta = {"name": self.name, "fps": self.fps, "val_start": self.val_start, "info": self.info}
        (folder / "clip.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "ClipData":
        meta = json.loads((folder / "clip.json").read_text(encoding="utf-8"))
        arrs = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in ARRAYS}
        por = folder / "portrait.npy"
        return cls(name=meta["name"], fps=float(meta["fps"]), val_start=int(meta["val_start"]),
                   info=dict(meta.get("info", {})), portrait=np.load(por) if por.exists() else None, **arrs)


def mouth_box(pts: np.ndarray, size: int) -> np.ndarray:
    from core.face import landmarks as L

    lips = pts[L.LIPS_OUTER, :2]
    lo, hi = lips.min(0), lips.max(0)
    pad = 0.3 * (hi - lo) + 2
    return np.clip(np.concatenate([lo - pad, hi + pad]), 0, size).astype(np.float32)


# -- synthetic clips (tests, smoke checks) -----------------------------------------

def synthetic_clip(n_frames: int, resolution: int, seed: int = 0, val_fraction: float = 0.2,
                   image: str | Path | None = None) -> ClipData:
    """Frames made by the mesh renderer from the sample portrait.

    The target shows the full motion (blinks, smiles driven by the emotion
    vector); the motion frame shows only pose and jaw, so the model has to
    read the rest from the conditioning, like it must with real footage.
    """
    import cv2

    from core.face.rig import load_rig
    from core.units import UNIT_NAMES
    from core.render.mesh import MeshRenderer

    rng = np.random.default_rng(seed)
    rig = load_rig(image or Path(__file__).resolve().parents[3] / "resources" / "sample" / "portrait.png")
    work = max(64, resolution)
    mesh = MeshRenderer(size=work)
    mesh.prepare(rig, work)
    t = np.arange(n_frames)
    jaw = 0.5 + 0.45 * np.sin(t * 0.9 + rng.uniform(0, 6))
    yaw = 6 * np.sin(t * 0.21 + rng.uniform(0, 6))
    blink = (rng.random(n_frames) < 0.15).astype(np.float32)
    happy = (np.sin(t * 0.13 + rng.uniform(0, 6)) > 0).astype(np.float32)
    ji, bi, si = (UNIT_NAMES.index(u) for u in ("jaw_open", "eye_blink", "lip_corner_pull"))

    def small(img: np.ndarray) -> np.ndarray:
        return img if work == resolution else cv2.resize(img, (resolution, resolution), interpolation=cv2.INTER_AREA)

    frames, motion, mouth = [], [], []
    for i in range(n_frames):
        w = np.zeros(len(UNIT_NAMES), np.float32)
        w[ji] = jaw[i]
        head = np.array([yaw[i], 0, 0, 0, 0, 0], np.float32)
        coarse = small(mesh.render_crop(w, head, np.zeros(2, np.float32)))
        w[bi], w[si] = blink[i], 0.9 * happy[i]
        full = small(mesh.render_crop(w, head, np.zeros(2, np.float32)))
        frames.append(full)
        motion.append(coarse)
        pts = mesh.moved_landmarks(w, head, np.zeros(2)) * (resolution / work)
        mouth.append(mouth_box(pts, resolution))
    audio = np.zeros((n_frames, 4, 6), np.float32)
    audio[:, :, 0] = (-40 + 30 * jaw)[:, None]
    audio[:, :, 5] = 1.0
    emotion = np.zeros((n_frames, EMOTION_DIM), np.float32)
    emotion[:, 0] = 0.7 * happy
    emotion[:, 3] = 1 - happy
    emotion[:, 4] = happy
    val_start = int(round(n_frames * (1 - val_fraction)))
    return ClipData(name=f"synthetic{seed}", fps=25.0, frames=np.stack(frames), motion=np.stack(motion),
                    reference=small(mesh.src.copy()), audio=audio, emotion=emotion,
                    has_emotion=np.ones(n_frames, bool), text=np.zeros((n_frames, TEXT_DIM), np.float32),
                    has_text=np.zeros(n_frames, bool), mouth=np.stack(mouth), valid=np.ones(n_frames, bool),
                    val_start=val_start, info={"source": "synthetic"})


# -- real footage ------------------------------------------------------------------

def _decode(path: Path, fps: float, seconds: float | None, size: tuple[int, int]) -> Iterator[np.ndarray]:
    from core.io.ffmpeg import ffmpeg_exe

    w, h = size
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    if seconds:
        cmd += ["-t", f"{seconds:.3f}"]
    cmd += ["-an", "-vf", f"fps={fps}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        while True:
            buf = proc.stdout.read(w * h * 3)
            if len(buf) < w * h * 3:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.kill()
        proc.wait()


def smooth_track(x: np.ndarray, valid: np.ndarray, window: int) -> np.ndarray:
    """Fill gaps, drop outliers (running median), then a moving average: a steady crop."""
    from scipy.ndimage import median_filter, uniform_filter1d

    t = np.arange(len(x))
    if valid.sum() == 0:
        raise UserInputError("no face was found in the footage.", None,
                             "Use footage where one face is clearly visible and frontal.")
    filled = np.stack([np.interp(t, t[valid], x[valid, j]) for j in range(x.shape[1])], 1)
    med = median_filter(filled, size=(max(1, window // 4) | 1, 1), mode="nearest")
    return uniform_filter1d(med, size=max(1, window), axis=0, mode="nearest")


def clip_from_video(path: str | Path, resolution: int, *, fps: float = 25.0, seconds: float | None = None,
                    val_fraction: float = 0.1, emotion_labels: bool = True, scenes=None,
                    progress: Progress = no_progress, cancel: CancelToken | None = None) -> ClipData:
    """Track, stabilise, crop and annotate one clip of talking footage."""
    import cv2

    from core.face.rig import FaceBox, FaceRig, crop_for, detect_landmarks, extract_square
    from core.io.audio import load_audio
    from core.io.video import probe
    from core.render.diffusion.conditioning import audio_frame_features, emotion_vectors, text_vectors
    from core.render.diffusion.fit import MotionFitter
    from core.render.mesh import MeshRenderer
    from core.speech.features import analyse_audio

    path = Path(path)
    cancel = cancel or CancelToken()
    info = probe(path)
    if not info.has_audio:
        raise UserInputError("the footage has no sound.", path, "Use footage with the speaker's voice.")
    total = int((min(seconds, info.duration) if seconds else info.duration) * fps) or 1
    det_scale = min(1.0, 640.0 / max(info.width, info.height))
    dsize = (max(1, round(info.width * det_scale)), max(1, round(info.height * det_scale)))
    # pass 1: landmarks of every frame
    pts_all, valid = [], []
    for i, rgb in enumerate(_decode(path, fps, seconds, (info.width, info.height))):
        cancel.check()
        small = cv2.resize(rgb, dsize, interpolation=cv2.INTER_AREA) if det_scale < 1 else rgb
        faces = detect_landmarks(small, max_faces=1)
        if faces:
            pts_all.append(faces[0] / det_scale)
            valid.append(True)
        else:
            pts_all.append(np.zeros((478, 3), np.float32))
            valid.append(False)
        progress("track face", i + 1, total)
    if not pts_all:
        raise UserInputError("could not read any video frame.", path, "Use an MP4, MOV or MKV file.")
    pts_all = np.stack(pts_all).astype(np.float32)
    valid = np.array(valid)
    n = len(pts_all)
    if valid.mean() < 0.5:
        raise UserInputError(f"a face was found in only {valid.mean():.0%} of the frames.", path,
                             "Use footage where the speaker faces the camera throughout.")
    crops = np.array([crop_for(p) if v else (0, 0, 0) for p, v in zip(pts_all, valid)], np.float64)
    crops = smooth_track(crops, valid, int(round(fps)))
    first = int(np.argmax(valid))
    work = max(64, resolution)
    frames = np.zeros((n, resolution, resolution, 3), np.uint8)
    motion = np.zeros_like(frames)
    mouth = np.zeros((n, 4), np.float32)
    mesh = fitter = None
    ref_crop = portrait = None
    residuals = []
    for i, rgb in enumerate(_decode(path, fps, seconds, (info.width, info.height))):
        if i >= n:
            break
        cancel.check()
        cx, cy, side = crops[i]
        x0, y0, s = int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side))
        crop = extract_square(rgb, x0, y0, s)
        frames[i] = cv2.resize(crop, (resolution, resolution), interpolation=cv2.INTER_AREA)
        if i == first:
            p0 = pts_all[i]
            box = FaceBox(float(p0[:, 0].min()), float(p0[:, 1].min()), float(p0[:, 0].max()), float(p0[:, 1].max()))
            rig = FaceRig(image=np.ascontiguousarray(rgb), landmarks=p0, box=box, crop=(cx, cy, side),
                          path=str(path))
            mesh = MeshRenderer(size=work)
            mesh.prepare(rig, work)
            fitter = MotionFitter(mesh)
            ref_crop = frames[i].copy()
            portrait = np.ascontiguousarray(rgb).copy()
        if valid[i] and mesh is not None:
            k = work / s
            p = pts_all[i].astype(np.float64).copy()
            p[:, 0] = (p[:, 0] - x0) * k
            p[:, 1] = (p[:, 1] - y0) * k
            p[:, 2] *= k
            fit = fitter.fit(p)
            residuals.append(fit.residual / mesh.face_w)
            m = mesh.render_crop(fit.weights, fit.head, fit.gaze)
            motion[i] = m if work == resolution else cv2.resize(m, (resolution, resolution),
                                                                 interpolation=cv2.INTER_AREA)
            mouth[i] = mouth_box(p * (resolution / work), resolution)
        progress("motion frames", i + 1, n)
    valid[:first] = False
    # audio, emotion, text
    audio = load_audio(path)
    if seconds:
        audio.samples = audio.samples[: int(seconds * audio.sample_rate)]
    feats = analyse_audio(audio.samples, audio.sample_rate, cancel=cancel)
    aud = audio_frame_features(feats, fps, n)
    emo = np.zeros((n, EMOTION_DIM), np.float32)
    has_emo = np.zeros(n, bool)
    emo_source = "none"
    if emotion_labels:
        from core.emotion.fusion import analyse_emotion
        from core.tracks import Alignment

        progress("emotion labels", 0, 1)
        track = analyse_emotion(audio, feats, Alignment(), fps, n, portrait_rgb=ref_crop, cancel=cancel)
        emo, has_emo, emo_source = emotion_vectors(track, n), np.ones(n, bool), "core.emotion.fusion"
        progress("emotion labels", 1, 1)
    text, has_text = text_vectors(scenes, fps, n)
    val_start = max(1, int(round(n * (1 - val_fraction))))
    return ClipData(name=path.stem, fps=fps, frames=frames, motion=motion, reference=ref_crop,
                    audio=aud, emotion=emo, has_emotion=has_emo, text=text, has_text=has_text,
                    mouth=mouth, valid=valid, val_start=val_start, portrait=portrait,
                    info={"source": str(path), "frames": n, "face_found": float(valid.mean()),
                          "fit_residual_face_widths": float(np.median(residuals)) if residuals else None,
                          "emotion_labels": emo_source, "seconds": n / fps})


def dataset_videos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError("dataset folder not found.", folder, "Give a folder of talking-face clips.")
    vids = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not vids:
        raise UserInputError("the dataset folder holds no video clips.", folder,
                             "Put MP4/MOV/MKV clips of one or more speakers in it.")
    return vids


def scenes_for(video: Path):
    """Optional sidecar CLIP.scenes.json with {"segments": [...]} (scene text conditioning)."""
    from core.tracks import SceneTrack

    side = video.with_suffix(".scenes.json")
    if not side.exists():
        return None
    try:
        return SceneTrack.from_dict(json.loads(side.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError):
        raise UserInputError("scene sidecar is not valid.", side,
                             'Use {"segments": [{"start": 0, "end": 2, "text": "..."}]}.') from None
