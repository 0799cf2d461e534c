"""``evaluate``: every yardstick of one video in a single streaming pass.

The video is decoded once; per frame only numbers are kept (landmarks,
expression probabilities, a few identity embeddings, PSNR/SSIM against the
real frame), so memory does not grow with the frame size. The real video
(``gt``) is decoded alongside when its frame rate matches, otherwise in a
second pass whose mouth curve is resampled onto our frame times.
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


def evaluate(video: str | Path, *, gt: str | Path | None = None, portrait: str | Path | None = None,
             expect: str | None = None, audio: str | Path | None = None,
             alignment: Alignment | None = None, max_lag: int = 2, report_dir: str | Path | None = None,
             progress: Callable[[str, float, float], None] | None = None, cancel=None) -> EvalResult:
    """Measure one video; see docs/eval.md for what each figure means."""
    from core.io.video import iter_frames, probe

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

    from core.eval.image import PairStats
    from core.face.expression import ExpressionClassifier, face_input

    classifier = ExpressionClassifier()
    embedder = ref_emb = None
    if portrait is not None:
        from core.face.identity import FaceEmbedder
        from core.io.image import load_image

        embedder = FaceEmbedder()
        ref_emb = embedder.embed(load_image(portrait))
    total = max(1, info.n_frames)
    id_every = max(1, total // IDENTITY_SAMPLES)

    tracker, gt_tracker = FaceTracker(), FaceTracker()
    frozen, pairs = FrozenCounter(), PairStats()
    empty = np.full((N_POINTS, 3), np.nan, np.float32)
    rows: list[np.ndarray] = []
    gt_open: list[float] = []
    prob_rows: list[np.ndarray] = []
    batch, batch_idx = [], []
    dists: list[float] = []

    def flush() -> None:
        if batch:
            p = classifier.predict_inputs(np.stack(batch))
            for j, k in enumerate(batch_idx):
                prob_rows[k] = p[j]
            batch.clear()
            batch_idx.clear()

    gt_frames = iter_frames(gt, size=(info.width, info.height)) if paired else None
    try:
        for i, frame in enumerate(iter_frames(video)):
            if cancel is not None:
                cancel.check()
            pts = tracker(frame)
            rows.append(empty if pts is None else pts)
            prob_rows.append(np.full(len(CLASSES), np.nan))
            frozen.add(frame)
            if pts is not None:
                box = _box(pts)
                batch.append(face_input(frame, box))
                batch_idx.append(i)
                if len(batch) >= 64:
                    flush()
                if embedder is not None and i % id_every == 0:
                    dists.append(float(np.linalg.norm(embedder.embed(frame, box) - ref_emb)))
            if gt_frames is not None:
                real = next(gt_frames, None)
                if real is None:
                    gt_frames = None
                else:
                    pairs.add(frame, real)
                    gp = gt_tracker(real)
                    gt_open.append(np.nan if gp is None else float(lipsync.mouth_opening(gp)[0]))
            if progress is not None and i % 10 == 0:
                progress("evaluating", i + 1, max(total, i + 1))
        flush()
    finally:
        if gt_frames is not None:
            gt_frames.close()
    n = len(rows)
    if n == 0:
        raise UserInputError("the video has no readable frames.", video, "Use an MP4, MOV, MKV or AVI video.")
    points = np.stack(rows)
    found = np.isfinite(points[:, 0, 0])
    if not found.any():
        raise UserInputError("no face found in any frame of the video.", video,
                             "Evaluate a video that shows one face clearly.")
    probs = np.stack(prob_rows)
    opening = lipsync.mouth_opening(points)

    # lip-sync
    ls: dict = {"mouth_audio_corr": None, "mouth_audio_lag": None, "gt_corr": None, "gt_lag": None,
                "bilabial_closure_rate": None, "bilabial_count": None,
                "mouth_spread": lipsync.opening_spread(opening), "gt_mouth_spread": None,
                "mouth_spread_ratio": None}
    loud = None
    audio_src = audio or (video if info.has_audio else None)
    if audio_src is not None:
        from core.io.audio import decode_audio

        try:
            samples = decode_audio(audio_src)
        except UserInputError:
            if audio is not None:
                raise
            samples = None
        if samples is not None and samples.size:
            loud = lipsync.loudness_envelope(samples, 16000, fps, n)
            r, lag = lipsync.best_lag_corr(opening, loud, max_lag)
            if math.isfinite(r):
                ls["mouth_audio_corr"], ls["mouth_audio_lag"] = r, lag
    gt_curve = None
    if gt is not None:
        if paired:
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

    # identity
    ident = {"distance_mean": float(np.mean(dists)) if dists else None,
             "distance_max": float(np.max(dists)) if dists else None}

    # expression
    have = np.isfinite(probs[:, 0])
    mean_p = probs[have].mean(axis=0) if have.any() else np.full(len(CLASSES), np.nan)
    top = CLASSES[int(np.nanargmax(mean_p))] if have.any() else None
    agreement = None
    if expect_cls is not None and have.any():
        agreement = float(np.mean(probs[have].argmax(axis=1) == CLASSES.index(expect_cls)))
    expr = {"classes": list(CLASSES), "mean_probs": {c: float(p) for c, p in zip(CLASSES, mean_p)},
            "top": top, "expect": expect_cls, "agreement": agreement}

    # motion
    angles = head_angles(points)
    ys, ps, rs = angle_std(angles)
    ear = eye_openness(points)
    minutes = n / fps / 60.0
    yv, pv, rv = head_speed(angles, fps)
    mot = {"yaw_std_deg": ys, "pitch_std_deg": ps, "roll_std_deg": rs,
           "yaw_speed_deg_s": yv, "pitch_speed_deg_s": pv, "roll_speed_deg_s": rv,
           "blinks_per_min": count_blinks(ear) / minutes if minutes > 0 else 0.0,
           "jitter": jitter(points), "frozen_fraction": frozen.fraction,
           "still_fraction": still_fraction(points)}
    p_mean, s_mean = pairs.mean()
    res = EvalResult(video=str(video), frames=n, fps=fps, face_frames=int(found.sum()), lipsync=ls,
                     identity=ident, expression=expr, motion=mot, image={"psnr": p_mean, "ssim": s_mean},
                     opening=opening, gt_opening=gt_curve, loudness=loud, probs=probs, angles=angles, ear=ear)
    if report_dir is not None:
        from core.eval.plots import write_report

        write_report(res, Path(report_dir))
    return res
