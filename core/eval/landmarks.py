"""Per-frame face landmarks of a video, streamed (only the points are kept).

Reuses the project's mediapipe wrapper (``core.face.rig``): a face is
acquired on the whole frame (confirmed by the face detectors, so a mesh
fitted to a dog or a wall does not count), then the mesh is re-fitted on a
512-px crop around the previous frame's face, which is both faster and more
precise than fitting the full frame. Frames without a face get NaN rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import UserInputError

N_POINTS = 478
REFIT_SIDE = 512
ACQUIRE_MAX_SIDE = 1280


@dataclass
class VideoLandmarks:
    """points: (n, 478, 3) float32 in pixels (z scaled like x), NaN rows where no face."""

    points: np.ndarray
    fps: float
    size: tuple[int, int]
    n_frames: int

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.points[:, 0, 0])


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)


class FaceTracker:
    """Feed RGB frames in order; get (478, 3) pixel landmarks or None per frame."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._crop: tuple[int, int, int] | None = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        pts = self._refit(rgb, self._prev) if self._prev is not None else None
        if pts is None:
            self._crop = None
            found = self._acquire(rgb)
            if found is not None:
                pts = self._refit(rgb, found)
                if pts is None:
                    pts = found
        self._prev = pts
        return pts

    @staticmethod
    def _acquire(rgb: np.ndarray) -> np.ndarray | None:
        from core.face.rig import confirmed_faces, detect_landmarks

        h, w = rgb.shape[:2]
        scale = min(1.0, ACQUIRE_MAX_SIDE / max(h, w))
        small = _resize(rgb, scale) if scale < 1 else np.ascontiguousarray(rgb)
        faces = confirmed_faces(small, detect_landmarks(small, max_faces=1))
        if not faces:
            return None
        return (faces[0] / scale).astype(np.float32)

    def _crop_for(self, near: np.ndarray) -> tuple[int, int, int]:
        """Square crop around ``near``, kept where it was while the face stays well inside it.

        A crop that followed every sub-pixel wobble of the previous fit would
        feed that wobble back into the next fit; holding it still makes a
        still video give exactly the same points every frame.
        """
        from core.face.rig import crop_for

        cx, cy, side = crop_for(near)
        s = max(16, int(round(side * 0.8)))
        if self._crop is not None:
            px, py, ps = self._crop
            if (abs(px + ps / 2 - cx) < 0.04 * ps and abs(py + ps / 2 - cy) < 0.04 * ps
                    and abs(ps - s) < 0.06 * ps):
                return self._crop
        self._crop = (int(round(cx - s / 2)), int(round(cy - s / 2)), s)
        return self._crop

    def _refit(self, rgb: np.ndarray, near: np.ndarray) -> np.ndarray | None:
        """Fit the mesh on a square crop around ``near``; None if the face left it."""
        from core.face.rig import fit_in_square

        x0, y0, s = self._crop_for(near)
        pts = fit_in_square(rgb, x0, y0, s, REFIT_SIDE, upscale="linear")
        if pts is None:
            return None
        width = float(near[:, 0].max() - near[:, 0].min())
        if np.linalg.norm(pts[1, :2] - near[1, :2]) > 0.35 * max(width, 1.0):
            return None  # jumped to something else: re-acquire on the whole frame
        return pts.astype(np.float32)


def track_video(path: str | Path, *, max_frames: int | None = None,
                progress: Callable[[str, float, float], None] | None = None,
                cancel=None) -> VideoLandmarks:
    """Landmarks of every frame of ``path`` (NaN rows where no face is found)."""
    from core.io.video import iter_frames, probe

    info = probe(path)
    total = info.n_frames if max_frames is None else min(info.n_frames or max_frames, max_frames)
    tracker = FaceTracker()
    rows: list[np.ndarray] = []
    empty = np.full((N_POINTS, 3), np.nan, np.float32)
    for i, frame in enumerate(iter_frames(path)):
        if max_frames is not None and i >= max_frames:
            break
        if cancel is not None:
            cancel.check()
        pts = tracker(frame)
        rows.append(empty if pts is None else pts)
        if progress is not None and i % 10 == 0:
            progress("landmarks", i + 1, max(total, i + 1))
    if not rows:
        raise UserInputError("the video has no readable frames.", path, "Use an MP4, MOV, MKV or AVI video.")
    return VideoLandmarks(points=np.stack(rows).astype(np.float32), fps=info.fps,
                          size=(info.width, info.height), n_frames=len(rows))
