"""The CPU mesh renderer: warps the portrait itself, frame by frame.

Per frame: expression-unit fields move the 478 landmarks, the head pose
rotates them in 3-D about a pivot behind the face (mediapipe depth),
rings of anchor points carry hair, ears and neck along with fading weight
while the crop border stays fixed, a dense backward warp resamples the
face crop, the mouth interior is painted where the lips opened, and the
crop is blended back into the full-resolution portrait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.face import landmarks as L
from core.face.rig import FaceRig, extract_square
from core.motion.units import UNIT_NAMES
from core.progress import CancelToken, Progress
from core.render.base import RenderConditioning
from core.render.mesh_units import build_unit_fields, combine
from core.render.mouth import paint_mouth
from core.render.warp import MeshWarp, apply_field
from core.tracks import MotionTrack


@dataclass
class MeshSettings:
    size: int = 512          # face-crop work resolution
    grid_div: int = 4        # warp field evaluated every grid_div pixels
    max_output: int = 0      # 0 = full portrait resolution; else cap the long side


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    # x right, y down, z away from camera; +yaw turns the nose to image-right,
    # +pitch lifts the chin, +roll tilts the crown towards image-right.
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


class MeshRenderer:
    name = "mesh"

    def __init__(self, size: int = 512, max_output: int = 0, grid_div: int = 4):
        self.settings = MeshSettings(size=size, max_output=max_output, grid_div=grid_div)
        self._prepared = False

    # -- preparation (once per portrait) ---------------------------------
    def prepare(self, rig: FaceRig, size: int | None = None) -> None:
        import cv2

        n = int(size or self.settings.size)
        self.n = n
        cx, cy, side = rig.crop
        self.side = int(round(side))
        self.x0, self.y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        crop_full = extract_square(rig.image, self.x0, self.y0, self.side)
        k = n / self.side
        self.src = cv2.resize(crop_full, (n, n), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        pts = rig.landmarks.astype(np.float64).copy()
        pts[:, 0] = (pts[:, 0] - self.x0) * k
        pts[:, 1] = (pts[:, 1] - self.y0) * k
        pts[:, 2] = pts[:, 2] * k
        self.rest = pts
        frame, fields = build_unit_fields(pts)
        self.face_scale = frame.scale
        self.fields_px = np.einsum("unk,kd->und", fields, frame.axes * frame.scale).astype(np.float32)
        self.jaw_i, self.close_i = UNIT_NAMES.index("jaw_open"), UNIT_NAMES.index("lip_close")
        self.tongue_i = UNIT_NAMES.index("tongue_show")
        face_w = float(np.ptp(pts[L.FACE_OVAL, 0]))
        self.face_w = face_w
        self.pivot = np.array([pts[[234, 454], 0].mean(), pts[[234, 454], 1].mean(),
                               pts[:, 2].mean() + 0.55 * face_w])
        self._build_anchors(pts, n)
        grid = max(16, n // self.settings.grid_div)
        self.warp = MeshWarp(np.concatenate([pts[:, :2], self.anchor_pts]), n, grid)
        self.eye_w = (np.linalg.norm(pts[33, :2] - pts[133, :2]) + np.linalg.norm(pts[263, :2] - pts[362, :2])) / 2
        # skin tone for the mouth interior: cheeks
        cheeks = pts[[50, 280, 101, 330], :2].astype(int).clip(0, n - 1)
        self.skin = np.array([self.src[y, x] for x, y in cheeks], np.float32).mean(0)
        # output frame and blend region
        H, W = rig.image.shape[:2]
        s = 1.0
        if self.settings.max_output and max(H, W) > self.settings.max_output:
            s = self.settings.max_output / max(H, W)
        self.out_scale = s
        self.out_w, self.out_h = int(W * s) // 2 * 2, int(H * s) // 2 * 2
        base = rig.image if s == 1.0 else cv2.resize(rig.image, (int(W * s), int(H * s)), interpolation=cv2.INTER_AREA)
        self.base = np.ascontiguousarray(base[: self.out_h, : self.out_w])
        side_o = max(2, int(round(self.side * s)))
        self.side_o = side_o
        ox, oy = int(round(self.x0 * s)), int(round(self.y0 * s))
        self.dst_box = (max(0, ox), max(0, oy), min(self.out_w, ox + side_o), min(self.out_h, oy + side_o))
        self.src_off = (self.dst_box[0] - ox, self.dst_box[1] - oy)
        ramp = np.clip(np.minimum(np.arange(side_o), np.arange(side_o)[::-1]) / (0.06 * side_o), 0, 1)
        ramp = 0.5 - 0.5 * np.cos(np.pi * ramp)
        self.blend = (ramp[:, None] * ramp[None, :]).astype(np.float32)[..., None]
        self._prepared = True

    def _build_anchors(self, pts: np.ndarray, n: int) -> None:
        """Anchor rings around the face: (points, z, head-follow weight)."""
        oval = pts[L.FACE_OVAL]
        c = oval[:, :2].mean(0)
        rings, weights = [], []
        for scale, wgt in ((1.25, 0.92), (1.6, 0.6), (2.1, 0.25)):
            ring = c + (oval[:, :2] - c) * scale
            below = ring[:, 1] > pts[L.CHIN, 1]
            w = np.where(below, wgt * 0.55, wgt)  # neck follows less than hair
            rings.append(ring)
            weights.append(w)
        ring = np.concatenate(rings)
        w = np.concatenate(weights)
        inside = (ring[:, 0] > 2) & (ring[:, 0] < n - 3) & (ring[:, 1] > 2) & (ring[:, 1] < n - 3)
        ring, w = ring[inside], w[inside]
        edge = np.linspace(0, n - 1, 9)
        border = np.concatenate([
            np.stack([edge, np.zeros(9)], 1), np.stack([edge, np.full(9, n - 1.0)], 1),
            np.stack([np.zeros(7), edge[1:-1]], 1), np.stack([np.full(7, n - 1.0), edge[1:-1]], 1)])
        self.anchor_pts = np.concatenate([ring, border])
        self.anchor_w = np.concatenate([w, np.zeros(len(border))])
        self.anchor_z = np.full(len(self.anchor_pts), pts[L.FACE_OVAL, 2].mean())

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.out_w, self.out_h

    # -- per frame -----------------------------------------------------------
    def moved_landmarks(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """Landmarks (478, 2) in crop pixels after expression, gaze and pose."""
        d = combine(self.fields_px, weights, self.jaw_i, self.close_i)
        p = self.rest.copy()
        p[:, :2] += d
        ex = self.eye_w * 0.22
        p[L.RIGHT_IRIS + L.LEFT_IRIS, 0] += float(np.clip(gaze[0], -1, 1)) * ex
        p[L.RIGHT_IRIS + L.LEFT_IRIS, 1] += float(np.clip(gaze[1], -1, 1)) * ex * 0.45
        return self._pose(p, head, np.ones(len(p)))[:, :2]

    def _pose(self, p: np.ndarray, head: np.ndarray, follow: np.ndarray) -> np.ndarray:
        yaw, pitch, roll, tx, ty, sc = [float(v) for v in head]
        rot = _rotation(yaw, pitch, roll)
        q = p - self.pivot
        moved = q @ rot.T * (1.0 + sc) + self.pivot
        moved[:, 0] += tx * self.face_w
        moved[:, 1] += ty * self.face_w
        return p + (moved - p) * follow[:, None]

    def render_crop(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """The warped N x N face crop for one frame of motion."""
        dst_face = self.moved_landmarks(weights, head, gaze)
        anchors = np.column_stack([self.anchor_pts, self.anchor_z])
        dst_anchor = self._pose(anchors, head, self.anchor_w)[:, :2]
        field = self.warp.field(np.concatenate([dst_face, dst_anchor]))
        out = apply_field(self.src, field, self.n)
        tongue = float(weights[self.tongue_i])
        paint_mouth(out, dst_face, self.rest[:, :2], self.face_scale, self.skin, tongue, self.src)
        return out

    def composite(self, crop: np.ndarray) -> np.ndarray:
        import cv2

        frame = self.base.copy()
        x0, y0, x1, y1 = self.dst_box
        if x1 <= x0 or y1 <= y0:
            return frame
        up = crop if self.side_o == self.n else cv2.resize(
            crop, (self.side_o, self.side_o),
            interpolation=cv2.INTER_LINEAR if self.side_o > self.n else cv2.INTER_AREA)
        sx, sy = self.src_off
        part = up[sy:sy + (y1 - y0), sx:sx + (x1 - x0)].astype(np.float32)
        m = self.blend[sy:sy + (y1 - y0), sx:sx + (x1 - x0)]
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (part * m + region * (1 - m) + 0.5).astype(np.uint8)
        return frame

    def frames(self, motion: MotionTrack, cond: RenderConditioning | None = None, *,
               start: int = 0, stop: int | None = None, progress: Progress | None = None,
               cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        if not self._prepared:
            raise RuntimeError("prepare() the renderer with a rig first")
        stop = motion.n_frames if stop is None else min(stop, motion.n_frames)
        for i in range(start, stop):
            if cancel is not None:
                cancel.check()
            crop = self.render_crop(motion.weights[i], motion.head[i], motion.gaze[i])
            yield self.composite(crop)
            if progress is not None:
                progress("render", i + 1 - start, stop - start)
