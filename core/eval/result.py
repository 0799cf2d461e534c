"""``evaluate``: every yardstick of one video in a single streaming pass.

The video is decoded once (``read_frames``); per frame only numbers are kept
(landmarks, expression probabilities, a few identity embeddings, PSNR/SSIM
against the real frame), so memory does not grow with the frame size. The
real video (``gt``) is decoded alongside when its frame rate matches,
otherwise in a second pass whose mouth curve is resampled onto our frame
times. The figures are then computed per metric family from those numbers:
``lipsync_figures``, ``identity_figures``, ``expression_figures``,
``motion_figures`` (the image figures are the PSNR/SSIM means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import UserInputError
from core.eval import lipsync
from core.eval.landmarks import N_POINTS, FaceTracker
from core.eval.motion import (FrozenCounter, angle_std, count_blinks, eye_openness, head_angles,
                              head_speed, jitter, still_fraction)
from core.face.expression import CLASSES
from core.tracks import Alignment

IDENTITY_SAMPLES = 16
EXPECT_ALIASES = {"angry": "angry", "disgust": "disgust", "disgusted": "disgust", "fear": "fear",
                  "fearful": "fear", "happy": "happy", "sad": "sad", "surprise": "surprise",
                  "surprised": "surprise", "neutral": "neutral"}


def _num(x, nd: int = 4):
    if x is None:
        return None
    x = float(x)
    return None if not math.isfinite(x) else round(x, nd)


@dataclass
class EvalResult:
    """All figures of one video plus the per-frame curves behind them (not in ``to_dict``)."""

    video: str
    frames: int
    fps: float
    face_frames: int
    lipsync: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)
    expression: dict = field(default_factory=dict)
    motion: dict = field(default_factory=dict)
    image: dict = field(default_factory=dict)
    # per-frame curves for plots and tests
    opening: np.ndarray | None = None
    gt_opening: np.ndarray | None = None
    loudness: np.ndarray | None = None
    probs: np.ndarray | None = None
    angles: np.ndarray | None = None
    ear: np.ndarray | None = None

    def to_dict(self) -> dict:
        def clean(d: dict) -> dict:
            out = {}
            for k, v in d.items():
                if isinstance(v, dict):
                    out[k] = clean(v)
                elif isinstance(v, (float, np.floating)):
                    out[k] = _num(v)
                elif isinstance(v, (np.integer,)):
                    out[k] = int(v)
                elif isinstance(v, tuple):
                    out[k] = list(v)
                else:
                    out[k] = v
            return out

        return {"video": self.video, "frames": int(self.frames), "fps": _num(self.fps, 3),
                "face_frames": int(self.face_frames), "lipsync": clean(self.lipsync),
                "identity": clean(self.identity), "expression": clean(self.expression),
                "motion": clean(self.motion), "image": clean(self.image)}


def _expect_class(expect: str | None) -> str | None:
    if expect is None:
        return None
    key = expect.strip().lower()
    if key not in EXPECT_ALIASES:
        raise UserInputError(f"--expect '{expect}' is not an expression the classifier knows.", None,
                             "Use one of: " + ", ".join(CLASSES) + " (fer has no 'contempt').")
    return EXPECT_ALIASES[key]


def _check_file(path: str | Path | None, what: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"{what} not found.", p, "Check the path.")
    return p


def _box(pts: np.ndarray) -> tuple[float, float, float, float]:
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _gt_opening(gt: Path, fps: float, n: int, cancel) -> np.ndarray:
    """The real video's mouth curve on our frame times (separate pass; other frame rate)."""
    from core.io.video import iter_frames, probe

    info = probe(gt)
    tracker = FaceTracker()
    vals = []
    for frame in iter_frames(gt):
        if cancel is not None:
            cancel.check()
        pts = tracker(frame)
        vals.append(np.nan if pts is None else float(lipsync.mouth_opening(pts)[0]))
    src = np.asarray(vals)
    t_src = np.arange(len(src)) / max(info.fps, 1e-6)
    t = np.arange(n) / fps
    ok = np.isfinite(src)
    if ok.sum() < 2:
        return np.full(n, np.nan)
    out = np.interp(t, t_src[ok], src[ok], left=np.nan, right=np.nan)
    return out


# -- the frame loop: one decode, a reader per metric family --------------------------

class _Expressions:
    """fer's class probabilities of every frame with a face (NaN rows without), in batches of 64."""

    BATCH = 64

    def __init__(self) -> None:
        from core.face.expression import ExpressionClassifier, face_input

        self.classifier = ExpressionClassifier()
        self.face_input = face_input
        self.rows: list[np.ndarray] = []
        self.batch: list[np.ndarray] = []
        self.batch_idx: list[int] = []

    def add(self, i: int, frame: np.ndarray, box) -> None:
        self.rows.append(np.full(len(CLASSES), np.nan))
        if box is None:
            return
        self.batch.append(self.face_input(frame, box))
        self.batch_idx.append(i)
        if len(self.batch) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            p = self.classifier.predict_inputs(np.stack(self.batch))
            for j, k in enumerate(self.batch_idx):
                self.rows[k] = p[j]
            self.batch.clear()
            self.batch_idx.clear()


class _Identity:
    """dlib distance to the portrait, on about IDENTITY_SAMPLES frames spread over the video."""

    def __init__(self, portrait: Path, total: int) -> None:
        from core.face.identity import FaceEmbedder
        from core.io.image import load_image

        self.embedder = FaceEmbedder()
        self.ref = self.embedder.embed(load_image(portrait))
        self.every = max(1, total // IDENTITY_SAMPLES)
        self.dists: list[float] = []

    def add(self, i: int, frame: np.ndarray, box) -> None:
        if i % self.every == 0:
            self.dists.append(float(np.linalg.norm(self.embedder.embed(frame, box) - self.ref)))


class _PairedReal:
    """The real video decoded alongside ours (same frame rate): PSNR/SSIM and its mouth opening."""

    def __init__(self, frames) -> None:
        from core.eval.image import PairStats

        self.frames = frames            # None: not paired, or the real video ended
        self.tracker = FaceTracker()
        self.pairs = PairStats()
        self.opening: list[float] = []

    def add(self, frame: np.ndarray) -> None:
        if self.frames is None:
            return
        real = next(self.frames, None)
        if real is None:
            self.frames = None
            return
        self.pairs.add(frame, real)
        gp = self.tracker(real)
        self.opening.append(np.nan if gp is None else float(lipsync.mouth_opening(gp)[0]))

    def close(self) -> None:
        if self.frames is not None:
            self.frames.close()


@dataclass
class FramePass:
    """What one decode of the video keeps: numbers per frame, never the frames."""

    points: np.ndarray           # (n, N_POINTS, 3) landmarks, NaN rows where no face
    probs: np.ndarray            # (n, classes) expression probabilities, NaN rows where no face
    dists: list[float]           # identity distances (empty without a portrait)
    gt_open: list[float]         # the paired real video's mouth opening (empty unless paired)
    frozen_fraction: float
    psnr: float | None           # mean over the paired real frames
    ssim: float | None


def read_frames(video: Path, info, *, paired_gt: Path | None = None, portrait: Path | None = None,
                progress: Callable[[str, float, float], None] | None = None, cancel=None) -> FramePass:
    """Decode ``video`` once (and ``paired_gt`` alongside it) and keep each family's per-frame numbers."""
    from core.io.video import iter_frames

    expressions = _Expressions()
    total = max(1, info.n_frames)
    identity = _Identity(portrait, total) if portrait is not None else None
    tracker, frozen = FaceTracker(), FrozenCounter()
    empty = np.full((N_POINTS, 3), np.nan, np.float32)
    rows: list[np.ndarray] = []
    real = _PairedReal(iter_frames(paired_gt, size=(info.width, info.height)) if paired_gt else None)
    try:
        for i, frame in enumerate(iter_frames(video)):
            if cancel is not None:
                cancel.check()
            pts = tracker(frame)
            rows.append(empty if pts is None else pts)
            frozen.add(frame)
            box = None if pts is None else _box(pts)
            expressions.add(i, frame, box)
            if identity is not None and box is not None:
                identity.add(i, frame, box)
            real.add(frame)
            if progress is not None and i % 10 == 0:
                progress("evaluating", i + 1, max(total, i + 1))
        expressions.flush()
    finally:
        real.close()
    if not rows:
        raise UserInputError("the video has no readable frames.", video, "Use an MP4, MOV, MKV or AVI video.")
    psnr, ssim = real.pairs.mean()
    return FramePass(points=np.stack(rows), probs=np.stack(expressions.rows),
                     dists=identity.dists if identity is not None else [], gt_open=real.opening,
                     frozen_fraction=frozen.fraction, psnr=psnr, ssim=ssim)


# -- the figures, one metric family each ----------------------------------------------

def lipsync_figures(opening: np.ndarray, fps: float, *, audio: Path | None, gt: Path | None,
                    gt_open: list[float] | None, alignment: Alignment | None, max_lag: int,
                    audio_required: bool = True, cancel=None) -> tuple[dict, np.ndarray | None, np.ndarray | None]:
    """(figures, loudness envelope, real mouth curve) of the mouth opening against the audio's
    loudness, the real mouth (``gt_open`` when decoded alongside, else a second pass over ``gt``)
    and the aligned bilabials. An audio that cannot be decoded is an error when the user named it
    (``audio_required``), otherwise the loudness figures stay empty."""
    n = len(opening)
    ls: dict = {"mouth_audio_corr": None, "mouth_audio_lag": None, "gt_corr": None, "gt_lag": None,
                "bilabial_closure_rate": None, "bilabial_count": None,
                "mouth_spread": lipsync.opening_spread(opening), "gt_mouth_spread": None,
                "mouth_spread_ratio": None}
    loud = None
    if audio is not None:
        from core.io.audio import decode_audio

        try:
            samples = decode_audio(audio)
        except UserInputError:
            if audio_required:
                raise
            samples = None
        if samples is not None and samples.size:
            loud = lipsync.loudness_envelope(samples, 16000, fps, n)
            r, lag = lipsync.best_lag_corr(opening, loud, max_lag)
            if math.isfinite(r):
                ls["mouth_audio_corr"], ls["mouth_audio_lag"] = r, lag
    gt_curve = None
    if gt is not None:
        if gt_open is not None:
            gt_curve = np.full(n, np.nan)
            gt_curve[:len(gt_open)] = gt_open[:n]
        else:
            gt_curve = _gt_opening(gt, fps, n, cancel)
        r, lag = lipsync.best_lag_corr(opening, gt_curve, max_lag)
        if math.isfinite(r):
            ls["gt_corr"], ls["gt_lag"] = r, lag
        gs = lipsync.opening_spread(gt_curve)
        if math.isfinite(gs) and gs > 1e-6:
            ls["gt_mouth_spread"] = gs
            ls["mouth_spread_ratio"] = ls["mouth_spread"] / gs
    rate, count = lipsync.bilabial_closure(opening, alignment, fps)
    ls["bilabial_closure_rate"], ls["bilabial_count"] = rate, count
    return ls, loud, gt_curve


def identity_figures(dists: list[float]) -> dict:
    return {"distance_mean": float(np.mean(dists)) if dists else None,
            "distance_max": float(np.max(dists)) if dists else None}


def expression_figures(probs: np.ndarray, expect_cls: str | None) -> dict:
    have = np.isfinite(probs[:, 0])
    mean_p = probs[have].mean(axis=0) if have.any() else np.full(len(CLASSES), np.nan)
    top = CLASSES[int(np.nanargmax(mean_p))] if have.any() else None
    agreement = None
    if expect_cls is not None and have.any():
        agreement = float(np.mean(probs[have].argmax(axis=1) == CLASSES.index(expect_cls)))
    return {"classes": list(CLASSES), "mean_probs": {c: float(p) for c, p in zip(CLASSES, mean_p)},
            "top": top, "expect": expect_cls, "agreement": agreement}


def motion_figures(points: np.ndarray, fps: float, frozen_fraction: float) -> tuple[dict, np.ndarray, np.ndarray]:
    """(figures, head angles, eye openness) of the landmarks: head spread and speed, blinks,
    jitter, frozen and still frames."""
    angles = head_angles(points)
    ys, ps, rs = angle_std(angles)
    ear = eye_openness(points)
    minutes = len(points) / fps / 60.0
    yv, pv, rv = head_speed(angles, fps)
    mot = {"yaw_std_deg": ys, "pitch_std_deg": ps, "roll_std_deg": rs,
           "yaw_speed_deg_s": yv, "pitch_speed_deg_s": pv, "roll_speed_deg_s": rv,
           "blinks_per_min": count_blinks(ear) / minutes if minutes > 0 else 0.0,
           "jitter": jitter(points), "frozen_fraction": frozen_fraction,
           "still_fraction": still_fraction(points)}
    return mot, angles, ear


def evaluate(video: str | Path, *, gt: str | Path | None = None, portrait: str | Path | None = None,
             expect: str | None = None, audio: str | Path | None = None,
             alignment: Alignment | None = None, max_lag: int = 2, report_dir: str | Path | None = None,
             progress: Callable[[str, float, float], None] | None = None, cancel=None) -> EvalResult:
    """Measure one video; see docs/eval.md for what each figure means."""
    from core.io.video import probe

    video = _check_file(video, "video")
    gt = _check_file(gt, "real (--gt) video")
    portrait = _check_file(portrait, "portrait")
    audio = _check_file(audio, "audio")
    expect_cls = _expect_class(expect)
    if max_lag < 0:
        raise UserInputError(f"--max-lag {max_lag} is negative.", None, "Use 0..10 (2 is typical).")
    info = probe(video)
    if info.width <= 0 or info.height <= 0:
        raise UserInputError("cannot read the video.", video, "Use an MP4, MOV, MKV or AVI video.")
    fps = info.fps if info.fps > 0 else 25.0
    gt_info = probe(gt) if gt else None
    paired = gt_info is not None and abs(gt_info.fps - fps) <= 0.01 * fps

    fp = read_frames(video, info, paired_gt=gt if paired else None, portrait=portrait, progress=progress,
                     cancel=cancel)
    found = np.isfinite(fp.points[:, 0, 0])
    if not found.any():
        raise UserInputError("no face found in any frame of the video.", video,
                             "Evaluate a video that shows one face clearly.")
    opening = lipsync.mouth_opening(fp.points)
    ls, loud, gt_curve = lipsync_figures(
        opening, fps, audio=audio or (video if info.has_audio else None), audio_required=audio is not None,
        gt=gt, gt_open=fp.gt_open if paired else None, alignment=alignment, max_lag=max_lag, cancel=cancel)
    mot, angles, ear = motion_figures(fp.points, fps, fp.frozen_fraction)
    res = EvalResult(video=str(video), frames=len(fp.points), fps=fps, face_frames=int(found.sum()), lipsync=ls,
                     identity=identity_figures(fp.dists), expression=expression_figures(fp.probs, expect_cls),
                     motion=mot, image={"psnr": fp.psnr, "ssim": fp.ssim},
                     opening=opening, gt_opening=gt_curve, loudness=loud, probs=fp.probs, angles=angles, ear=ear)
    if report_dir is not None:
        from core.eval.plots import write_report

        write_report(res, Path(report_dir))
    return res
