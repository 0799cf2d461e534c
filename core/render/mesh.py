"""The CPU mesh renderer: warps the portrait itself, frame by frame.

Per frame: expression-unit fields move the face-mesh landmarks and a
piecewise-affine warp follows them; the head pose is a smooth depth-aware
3-D rotation field (inverted by fixed-point iteration) that carries head,
hair, neck and the background beside them (decaying with the distance, so
nothing is uncovered); irises are re-laid inside the moved lids, closed lids
and the mouth interior are painted; the frame is then rebuilt at the
portrait's own resolution from the portrait warped through the same field,
with only the synthesised parts taken from the work-size crop. See
docs/mesh_renderer.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.errors import UserInputError
from core.face import landmarks as L
from core.face.rig import FaceRig, extract_square
from core.units import UNIT_NAMES, clip_weights
from core.progress import CancelToken, Progress
from core.render.appearance import ExpressionAppearance, expression_fields
from core.render.base import RenderConditioning
from core.render.mesh_units import build_unit_fields, combine
from core.render.eyes import lash_colour, paint_closed_lids, paint_eyes, prepare_eyes
from core.render.layers import DetailLayer, head_maps, person_mask_for_crop, upscale_box
from core.render.mouth import mouth_look, paint_mouth
from core.render.warp import MeshWarp, PoseField, sample_field, upsample_field
from core.tracks import MotionTrack


N_MESH = 468  # face-mesh points; 468-477 are the irises
# dlib identity distance a single learned expression at full strength may
# reach on this face (renders of one person measure < 0.35-0.4; the emotion
# issue's bar for a whole expressive render is 0.45)
IDENTITY_GUARD = 0.36
# render_frame warps the work-size crop this many pixels around the face's box
# (the face box is the mesh's +-4 px; eyes, closed lids and mouth paint inside it)
FACE_MARGIN = 12


class PrepareAbandoned(Exception):
    """``prepare`` stopped early because ``abandon_prepare`` was called (the job went away)."""


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


@dataclass
class _Frame:
    """One rendered crop and what its full-resolution composite needs."""

    crop: np.ndarray                                   # the work-size crop render_crop returned
    field: np.ndarray                                  # (g, g, 2) backward field, work-size pixels
    warp_box: tuple[int, int, int, int] | None         # work-size box the field moves (None: still)
    synth_box: tuple[int, int, int, int] | None        # work-size box of delta/paint (None: nothing)
    delta: np.ndarray | None                           # int16 render minus the plain warp in synth_box
    paint: list[tuple[tuple[int, int, int, int], np.ndarray]]  # (box, float32 0..1) where painters
                                                       # replaced the portrait, one per painted part


class MeshRenderer:
    name = "mesh"

    def __init__(self, size: int = 512, max_output: int = 0, grid_div: int = 4):
        self.settings = MeshSettings(size=size, max_output=max_output, grid_div=grid_div)
        self._prepared = False
        import threading

        self._shared = threading.Lock()
        self._abandon = threading.Event()

    def abandon_prepare(self) -> None:
        """Make a ``prepare`` running on another thread stop at its next step (PrepareAbandoned)."""
        self._abandon.set()

    def _step(self) -> None:
        if self._abandon.is_set():
            raise PrepareAbandoned()

    # -- preparation (once per portrait) ---------------------------------
    def prepare(self, rig: FaceRig, size: int | None = None) -> None:
        import cv2

        n = int(size or self.settings.size)
        if n < 64:
            raise UserInputError(f"render size {n} is too small.", None, "Use a size of at least 64 pixels.")
        self.n = n
        cx, cy, side = rig.crop
        self.side = int(round(side))
        self.x0, self.y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        crop_full = extract_square(rig.image, self.x0, self.y0, self.side)
        k = n / self.side
        self.src = np.ascontiguousarray(cv2.resize(
            crop_full, (n, n), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC))
        pts = rig.landmarks.astype(np.float64).copy()
        pts[:, 0] = (pts[:, 0] - self.x0) * k
        pts[:, 1] = (pts[:, 1] - self.y0) * k
        pts[:, 2] = pts[:, 2] * k
        self.rest = pts
        self._step()
        frame, fields = build_unit_fields(pts)
        fields = expression_fields(fields)
        self.face_scale = frame.scale
        self.fields_px = np.einsum("unk,kd->und", fields, frame.axes * frame.scale).astype(np.float32)
        self.jaw_i, self.close_i = UNIT_NAMES.index("jaw_open"), UNIT_NAMES.index("lip_close")
        self.tongue_i = UNIT_NAMES.index("tongue_show")
        self.round_i = UNIT_NAMES.index("lip_round")
        face_w = float(np.ptp(pts[L.FACE_OVAL, 0]))
        self.face_w = face_w
        grid = max(16, n // self.settings.grid_div)
        self.grid = grid
        # expression warp: face landmarks (no irises: eyes.py moves those) + still anchors
        self._build_anchors(pts, n)
        self.warp = MeshWarp(np.concatenate([pts[:N_MESH, :2], self.anchor_pts]), n, grid)
        self.eye_w = (np.linalg.norm(pts[33, :2] - pts[133, :2]) + np.linalg.norm(pts[263, :2] - pts[362, :2])) / 2
        # head pose: depth and a follow weight that carries head, hair and the background beside them
        mesh_depth, cover = self._mesh_depth_on_grid(pts, n, grid)
        self._step()
        self.mask = person_mask_for_crop(self.src)
        self._step()
        depth, follow, self.pivot = head_maps(pts, n, grid, mesh_depth, cover, self.mask)
        self.pose = PoseField(n, grid, depth, follow, self.pivot, face_w)
        lin = (np.arange(grid) + 0.5) * n / grid - 0.5
        self.grid_xy = np.stack(np.meshgrid(lin, lin), -1).astype(np.float32)
        # eyes and mouth
        self.eyes, self.src_no_iris = prepare_eyes(self.src, pts)
        self.lash = lash_colour(self.src, pts)
        self.blink_i = UNIT_NAMES.index("eye_blink")
        self.wink_i = (UNIT_NAMES.index("wink_right"), UNIT_NAMES.index("wink_left"))
        cheeks = pts[[50, 280, 101, 330], :2].astype(int).clip(0, n - 1)
        self.skin = np.array([self.src[y, x] for x, y in cheeks], np.float32).mean(0)
        self.look = mouth_look(self.src, pts, self.skin)
        self.appearance = ExpressionAppearance(pts, n)
        self._prepare_output(rig)
        self._step()
        self._prepared = True
        self.expression_scale = self._guard_expression_identity()

    def _guard_expression_identity(self) -> dict[str, float]:
        """Scale each learned expression down until this face still looks like itself.

        The actors' full-strength faces (shape and skin folds) carried onto
        another face can move it past what a viewer accepts as the same
        person, more so on small, painted or drawn faces. Each ``expr_*``
        unit is rendered alone at full strength and the dlib identity
        distance to the rest crop measured; where it exceeds
        IDENTITY_GUARD the unit's shape and ratio map are scaled by
        GUARD / distance (up to three times). Returns the scale per unit.
        The scales are cached per portrait crop, fields and maps (about a
        second of dlib work on two cores).
        """
        import hashlib

        from core.cache import AnalysisCache
        from core.paths import cache_dir

        expr = [UNIT_NAMES.index(u) for u in UNIT_NAMES if u.startswith("expr_")]
        h = hashlib.sha256(f"identity-guard-v1|{IDENTITY_GUARD}".encode())
        for a in (self.src, self.fields_px[expr], self.appearance.maps):
            h.update(np.ascontiguousarray(a).tobytes())
        cache = AnalysisCache(cache_dir() / "render")
        key = f"identity-guard-{h.hexdigest()[:32]}"
        hit = cache.get(key)
        if hit is None:
            hit = self._measure_expression_identity()
            try:
                cache.root.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass   # an unwritable cache only costs the second of measuring again
            cache.put(key, hit)
        for name, k in hit.items():
            if k != 1.0:
                self.fields_px[UNIT_NAMES.index(name)] *= k
                self.appearance.scale_unit(name, k)
        return hit

    def _measure_expression_identity(self) -> dict[str, float]:
        """The guard's scales, measured (fields and maps are left as they were)."""
        from core.face.identity import FaceEmbedder

        emb = FaceEmbedder()
        self._step()
        pts = self.rest[:N_MESH, :2]
        box = (*pts.min(0).tolist(), *pts.max(0).tolist())
        ref = emb.embed(self.src, box)
        still, ahead = np.zeros(6, np.float32), np.zeros(2, np.float32)
        scales: dict[str, float] = {}
        for name in (u for u in UNIT_NAMES if u.startswith("expr_")):
            i, k = UNIT_NAMES.index(name), 1.0
            w = np.zeros(len(UNIT_NAMES), np.float32)
            w[i] = 1.0
            for _ in range(3):
                self._step()
                d = float(np.linalg.norm(emb.embed(self.render_crop(w, still, ahead), box) - ref))
                if d <= IDENTITY_GUARD:
                    break
                step = max(0.4, IDENTITY_GUARD / d)
                k *= step
                self.fields_px[i] *= step
                self.appearance.scale_unit(name, step)
            scales[name] = round(k, 4)
            if k != 1.0:   # put it back: the caller applies the rounded scale
                self.fields_px[i] /= k
                self.appearance.scale_unit(name, 1.0 / k)
        return scales

    def _prepare_output(self, rig: FaceRig) -> None:
        import cv2

        H, W = rig.image.shape[:2]
        s = 1.0
        if self.settings.max_output and max(H, W) > self.settings.max_output:
            s = self.settings.max_output / max(H, W)
        self.out_scale = s
        self.out_w, self.out_h = max(2, int(W * s) // 2 * 2), max(2, int(H * s) // 2 * 2)
        base = rig.image if s == 1.0 else cv2.resize(rig.image, (int(W * s), int(H * s)), interpolation=cv2.INTER_AREA)
        self.base = np.ascontiguousarray(base[: self.out_h, : self.out_w])
        side_o = max(2, int(round(self.side * s)))
        self.side_o = side_o
        ox, oy = int(round(self.x0 * s)), int(round(self.y0 * s))
        self.dst_box = (max(0, ox), max(0, oy), min(self.out_w, ox + side_o), min(self.out_h, oy + side_o))
        self.src_off = (self.dst_box[0] - ox, self.dst_box[1] - oy)
        band = max(1, int(np.ceil(0.06 * side_o)))
        self.band = band
        ramp = np.clip(np.minimum(np.arange(side_o), np.arange(side_o)[::-1]) / band, 0, 1)
        self.ramp = (0.5 - 0.5 * np.cos(np.pi * ramp)).astype(np.float32)
        # the face at the output's own resolution (see layers.DetailLayer)
        self.detail = DetailLayer(extract_square(self.base, ox, oy, side_o), self.n)
        self._last: _Frame | None = None

    def _build_anchors(self, pts: np.ndarray, n: int) -> None:
        """Still control points around the face for the expression warp.

        Expression fields fade out inside the face oval; a ring just outside
        it and the crop border keep the hair and background put.
        """
        oval = pts[L.FACE_OVAL]
        c = oval[:, :2].mean(0)
        rings = [c + (oval[:, :2] - c) * s for s in (1.18, 1.45)]
        ring = np.concatenate(rings)
        inside = (ring[:, 0] > 2) & (ring[:, 0] < n - 3) & (ring[:, 1] > 2) & (ring[:, 1] < n - 3)
        ring = ring[inside]
        edge = np.linspace(0, n - 1, 9)
        border = np.concatenate([
            np.stack([edge, np.zeros(9)], 1), np.stack([edge, np.full(9, n - 1.0)], 1),
            np.stack([np.zeros(7), edge[1:-1]], 1), np.stack([np.full(7, n - 1.0), edge[1:-1]], 1)])
        self.anchor_pts = np.concatenate([ring, border])

    @staticmethod
    def _mesh_depth_on_grid(pts: np.ndarray, n: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
        """The face mesh's z at every grid point inside the face (barycentric), and that coverage."""
        from scipy.spatial import Delaunay

        tri = Delaunay(pts[:N_MESH, :2])
        lin = (np.arange(grid) + 0.5) * n / grid - 0.5
        gx, gy = np.meshgrid(lin, lin)
        q = np.stack([gx.ravel(), gy.ravel()], 1)
        s = tri.find_simplex(q)
        z = np.zeros(len(q))
        ok = s >= 0
        T = tri.transform[s[ok]]
        b = np.einsum("nij,nj->ni", T[:, :2], q[ok] - T[:, 2])
        bary = np.column_stack([b, 1 - b.sum(1)])
        z[ok] = (pts[tri.simplices[s[ok]], 2] * bary).sum(1)
        return z.reshape(grid, grid), ok.reshape(grid, grid).astype(np.float32)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the output frames; (0, 0) before ``prepare``."""
        return (self.out_w, self.out_h) if self._prepared else (0, 0)

    # -- per frame -----------------------------------------------------------
    def _expressed(self, weights: np.ndarray) -> np.ndarray:
        """Landmarks (478, 3) in the rest frame after the expression units."""
        d = combine(self.fields_px, self._eased(weights), self.jaw_i, self.close_i)
        p = self.rest.copy()
        p[:, :2] += d
        return p

    def _eased(self, weights: np.ndarray) -> np.ndarray:
        """Blink weight eased (1 - (1 - w)^1.5) so a half blink looks half shut.

        Measured: with a linear lid, weight 0.6 dropped the face mesh's eye
        aspect ratio by only 13 %; the lids' first third barely changes what
        is seen of the eye.
        """
        w = clip_weights(np.asarray(weights, np.float32).copy())
        # Per eye closure = max(blink, wink); the blink field is the sum of
        # the two wink fields, so split it into a shared part and the rest.
        right, left = (1 - (1 - np.maximum(w[self.blink_i], w[i])) ** 1.5 for i in self.wink_i)
        both = min(right, left)
        w[self.blink_i] = both
        w[self.wink_i[0]], w[self.wink_i[1]] = right - both, left - both
        return w

    def _eye_closure(self, weights: np.ndarray) -> tuple[float, float]:
        """How shut (0..1) the right and left eye are, after easing."""
        e = self._eased(weights)
        return float(e[self.blink_i] + e[self.wink_i[0]]), float(e[self.blink_i] + e[self.wink_i[1]])

    def _gaze_offset(self, gaze: np.ndarray) -> np.ndarray:
        ex = self.eye_w * 0.2
        return np.array([float(np.clip(gaze[0], -1, 1)) * ex, float(np.clip(gaze[1], -1, 1)) * ex * 0.4])

    def _posed(self, p: np.ndarray, disp: np.ndarray | None) -> np.ndarray:
        """Positions (N, 2) after the pose warp, read from its forward field (so the
        painted mouth and eyes sit exactly where the warp put the lips and lids)."""
        if disp is None:
            return p[:, :2].copy()
        d = sample_field(disp, p[None, :, :2].astype(np.float32), self.n)[0]
        return p[:, :2] + d

    def _pose_disp(self, head: np.ndarray) -> np.ndarray | None:
        h = np.asarray(head, np.float64)
        if not np.any(np.abs(h) > 1e-4):
            return None
        yaw, pitch, roll = np.clip(h[0], -30, 30), np.clip(h[1], -25, 25), np.clip(h[2], -25, 25)
        return self.pose.forward(_rotation(yaw, pitch, roll), float(h[3]), float(h[4]), float(h[5]))

    def moved_landmarks(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """Landmarks (478, 2) in crop pixels after expression, gaze and pose."""
        p = self._expressed(weights)
        p[L.RIGHT_IRIS + L.LEFT_IRIS, :2] += self._gaze_offset(gaze)
        return self._posed(p, self._pose_disp(head))

    def render_crop(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """The warped N x N face crop for one frame of motion.

        With ``composite`` this is the straightforward path (the whole crop
        is warped at the work size), kept as the reference that
        ``render_frame`` is tested against.
        """
        f = self._render(weights, head, gaze, whole=True)
        self._last = f
        return f.crop

    def render_frame(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """The output frame for one frame of motion: ``composite(render_crop(...))`` for less work.

        Of the work-size crop the output frame only uses what was shaded and
        painted, all of it on the face (the rest is the portrait warped at
        the output's resolution, ``DetailLayer``); so only the face's box of
        the crop is warped at the work size. Pixel for pixel the same frame
        as the reference path (tests/render/test_fast_path.py).
        """
        return self._composite_detail(self._render(weights, head, gaze, whole=False))

    def _render(self, weights: np.ndarray, head: np.ndarray, gaze: np.ndarray, whole: bool) -> "_Frame":
        """One frame at the work size; ``whole`` False warps only the face's box of the crop."""
        import cv2

        weights = np.asarray(weights, np.float32)
        p = self._expressed(weights)
        expr = self.warp.field(np.concatenate([p[:N_MESH, :2], self.anchor_pts]))
        disp = self._pose_disp(head)
        if disp is not None:
            inv = self.pose.inverse(disp)
            field = sample_field(expr, inv, self.n)
        else:
            field = expr
        moved = self._posed(p, disp)
        fx0, fy0, fx1, fy1 = face_box = self._face_region(moved)
        if whole:
            fx, fy = upsample_field(field, self.n)
            out = cv2.remap(self.src, fx, fy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        else:
            # the face's box and a margin (the painters' boxes all lie inside it);
            # the rest of these crop-sized arrays is never read
            m = FACE_MARGIN
            bx0, by0 = max(0, fx0 - m), max(0, fy0 - m)
            bx1, by1 = min(self.n, fx1 + m), min(self.n, fy1 + m)
            n = self.n
            fx, fy = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
            out = np.empty((n, n, 3), np.uint8)
            if bx1 > bx0 and by1 > by0:
                fx[by0:by1, bx0:bx1], fy[by0:by1, bx0:bx1] = upsample_field(field, n, (bx0, by0, bx1, by1))
                cv2.remap(self.src, fx[by0:by1, bx0:bx1], fy[by0:by1, bx0:bx1], dst=out[by0:by1, bx0:bx1],
                          interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        plain = out[fy0:fy1, fx0:fx1].copy()
        with self._shared:   # the appearance layer shades through one scratch image
            self.appearance.apply(out, fx, fy, weights, face_box)
        shaded = out[fy0:fy1, fx0:fx1].copy()
        g = self._gaze_offset(gaze)
        if self.eyes and (np.any(g != 0) or disp is not None or np.any(weights > 1e-3)):
            centres = [moved[e.iris[0]] + g for e in self.eyes]

            def no_iris(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
                return cv2.remap(self.src_no_iris, fx[y0:y1, x0:x1], fy[y0:y1, x0:x1],
                                 interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)

            paint_eyes(out, no_iris, self.eyes, moved, centres)
        shut = [float(np.clip((c - 0.6) / 0.35, 0, 1)) for c in self._eye_closure(weights)]
        if max(shut) > 0:
            paint_closed_lids(out, moved, self.rest, tuple(s * s * (3 - 2 * s) for s in shut), self.lash)
        tongue = float(weights[self.tongue_i])
        paint_mouth(out, moved, self.rest[:, :2], self.face_scale, self.look, tongue, self.src,
                    rounding=float(weights[self.round_i]))
        return self._frame_detail(out, field, face_box, plain, shaded)

    def _frame_detail(self, out: np.ndarray, field: np.ndarray, box: tuple[int, int, int, int],
                      plain: np.ndarray, shaded: np.ndarray) -> "_Frame":
        """What ``composite`` needs to rebuild this frame at the output's resolution.

        The work-size render contributes only what was synthesised: the
        shading (added as a difference, so the portrait's texture stays under
        it) and the painted eyes, lids and mouth (which replace the portrait
        where the painters changed a pixel by more than a few levels).
        """
        import cv2

        # (OpenCV's boundingRect of a mask and per-channel maxima instead of numpy's
        # reductions over the last axis: the same boxes, a tenth of the time)
        a = cv2.absdiff(field, self.grid_xy)
        gx, gy, gw, gh = cv2.boundingRect((np.maximum(a[..., 0], a[..., 1]) > 1e-3).view(np.uint8))
        warp_box = None
        if gw:
            c = self.n / self.grid
            warp_box = (int(max(0, (gx - 1) * c)), int(max(0, (gy - 1) * c)),
                        int(min(self.n, (gx + gw + 1) * c)), int(min(self.n, (gy + gh + 1) * c)))
        x0, y0, x1, y1 = box
        synth_box = delta = None
        paint: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        if x1 > x0 and y1 > y0:
            now = out[y0:y1, x0:x1]
            h, w = now.shape[:2]
            # box of the pixels the shading and painters changed (channels side by side)
            cx, b0, cw, bh = cv2.boundingRect(cv2.absdiff(now, plain).reshape(h, w * 3))
            if cw:
                a0, a1, b1 = cx // 3, (cx + cw - 1) // 3 + 1, b0 + bh
                synth_box = (x0 + a0, y0 + b0, x0 + a1, y0 + b1)
                delta = cv2.subtract(now[b0:b1, a0:a1], plain[b0:b1, a0:a1], dtype=cv2.CV_16S)
                # painted parts (eyes, lids, mouth): each as its own small box
                ad = cv2.absdiff(now, shaded)
                changed = (np.maximum(np.maximum(ad[..., 0], ad[..., 1]), ad[..., 2]) > 4).view(np.uint8)
                rx, ry, rw, rh = cv2.boundingRect(changed)
                if rw:
                    # dilate, label and blur only around the changed pixels (margin 4 > the
                    # 2-px dilation and 1-px blur): the same components and soft masks
                    sx0, sy0 = max(0, rx - 4), max(0, ry - 4)
                    sub = changed[sy0:min(h, ry + rh + 4), sx0:min(w, rx + rw + 4)]
                    grown = cv2.dilate(sub, np.ones((5, 5), np.uint8))
                    cnt, _, stats, _ = cv2.connectedComponentsWithStats(grown)
                    soft = cv2.blur(cv2.dilate(sub, np.ones((3, 3), np.uint8)).astype(np.float32), (3, 3))
                    for bx, by, bw, bh, _ in stats[1:cnt]:
                        pb = (x0 + sx0 + bx, y0 + sy0 + by, x0 + sx0 + bx + bw, y0 + sy0 + by + bh)
                        paint.append((pb, np.ascontiguousarray(soft[by:by + bh, bx:bx + bw])))
        return _Frame(out, field, warp_box, synth_box, delta, paint)

    def _face_region(self, moved: np.ndarray) -> tuple[int, int, int, int]:
        """Box (x0, y0, x1, y1) around the moved face mesh, a few pixels wide of it."""
        lo = np.floor(moved[:N_MESH].min(0)).astype(int) - 4
        hi = np.ceil(moved[:N_MESH].max(0)).astype(int) + 5
        return max(0, lo[0]), max(0, lo[1]), min(self.n, hi[0]), min(self.n, hi[1])

    def composite(self, crop: np.ndarray) -> np.ndarray:
        """The output frame for a crop.

        For the crop ``render_crop`` has just returned, the frame is built at
        the output's resolution: the portrait itself warped through the same
        field (``DetailLayer``) plus what the work-size render synthesised;
        pixels the frame does not move are the portrait's own. Any other crop
        (the diffusion renderer's, an edited copy) carries no field: it is
        scaled to the output and pasted, only the feather band blended. (A
        crop edited in place after ``render_crop`` still counts as the
        render's: only its painted parts would show the edit.)
        """
        import cv2

        last = self._last
        if last is not None and crop is last.crop:
            return self._composite_detail(last)
        frame = self.base.copy()
        x0, y0, x1, y1 = self.dst_box
        if x1 <= x0 or y1 <= y0:
            return frame
        up = crop if self.side_o == self.n else cv2.resize(
            crop, (self.side_o, self.side_o),
            interpolation=cv2.INTER_LINEAR if self.side_o > self.n else cv2.INTER_AREA)
        sx, sy = self.src_off
        h, w = y1 - y0, x1 - x0
        part = up[sy:sy + h, sx:sx + w]
        ry, rx = self.ramp[sy:sy + h], self.ramp[sx:sx + w]
        frame[y0:y1, x0:x1] = part
        b = self.band
        # four strips where the ramp is below one
        for ys, xs in ((slice(0, min(b, h)), slice(0, w)), (slice(max(0, h - b), h), slice(0, w)),
                       (slice(0, h), slice(0, min(b, w))), (slice(0, h), slice(max(0, w - b), w))):
            m = np.minimum(ry[ys][:, None], rx[xs][None, :])[..., None]
            if m.min() >= 1:
                continue
            p = part[ys, xs].astype(np.float32)
            base = self.base[y0:y1, x0:x1][ys, xs].astype(np.float32)
            frame[y0:y1, x0:x1][ys, xs] = (base + (p - base) * m + 0.5).astype(np.uint8)
        return frame

    def _composite_detail(self, f: "_Frame") -> np.ndarray:
        """The frame at output resolution from the portrait's crop and the synthesised parts."""
        frame = self.base.copy()
        s = self.detail.scale
        side = self.side_o
        boxes = [b for b in (f.warp_box, f.synth_box) if b is not None]
        if not boxes:
            return frame            # nothing moved, nothing painted: the portrait itself
        # the union of both boxes, in output pixels of the crop, inside the frame
        sx, sy = self.src_off
        x0, y0, x1, y1 = self.dst_box
        lim = (sx, sy, sx + x1 - x0, sy + y1 - y0)
        ob = [int(np.floor(min(b[0] for b in boxes) * s)), int(np.floor(min(b[1] for b in boxes) * s)),
              int(np.ceil(max(b[2] for b in boxes) * s)), int(np.ceil(max(b[3] for b in boxes) * s))]
        ob = (max(ob[0], lim[0]), max(ob[1], lim[1]), min(ob[2], lim[2], side), min(ob[3], lim[3], side))
        if ob[2] <= ob[0] or ob[3] <= ob[1]:
            return frame
        fx, fy = self.detail.maps(self.detail.displacement(f.field), ob)
        out = self.detail.warp(fx, fy)
        if f.synth_box is not None:
            self._add_synthesised(out, ob, f)
        fx0, fy0 = x0 - sx, y0 - sy
        frame[ob[1] + fy0:ob[3] + fy0, ob[0] + fx0:ob[2] + fx0] = out
        return frame

    def _add_synthesised(self, out: np.ndarray, ob: tuple[int, int, int, int], f: "_Frame") -> None:
        """Add the shading difference and lay the painted parts over ``out`` (box ``ob``), in place."""
        import cv2

        s = self.detail.scale

        def inside(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            """A work-size box in output pixels, clipped to ``ob``."""
            return (max(ob[0], int(np.floor(b[0] * s))), max(ob[1], int(np.floor(b[1] * s))),
                    min(ob[2], int(np.ceil(b[2] * s))), min(ob[3], int(np.ceil(b[3] * s))))

        sb = inside(f.synth_box)
        if sb[2] <= sb[0] or sb[3] <= sb[1]:
            return
        roi = out[sb[1] - ob[1]:sb[3] - ob[1], sb[0] - ob[0]:sb[2] - ob[0]]
        roi[:] = cv2.add(roi, upscale_box(f.delta, f.synth_box, s, sb), dtype=cv2.CV_8U)
        for pb, k_n in f.paint:
            b = inside(pb)
            if b[2] <= b[0] or b[3] <= b[1]:
                continue
            part = out[b[1] - ob[1]:b[3] - ob[1], b[0] - ob[0]:b[2] - ob[0]]
            k = upscale_box(k_n, pb, s, b)[..., None]
            painted = upscale_box(np.ascontiguousarray(f.crop[pb[1]:pb[3], pb[0]:pb[2]]), pb, s, b)
            part[:] = (part + (painted.astype(np.float32) - part) * k + 0.5).astype(np.uint8)

    def frames(self, motion: MotionTrack, cond: RenderConditioning | None = None, *,
               start: int = 0, stop: int | None = None, progress: Progress | None = None,
               cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
        """Output frames for motion frames [start, stop), as ``render_frame`` makes them.

        Frames are rendered on ``render_threads()`` threads (two on a 2-core
        machine), one frame each, handed out in order: OpenCV and numpy
        release the GIL for much of a frame. Measured on the shared 2-core
        machine: the speed benchmark's frames at 512 px took 0.73-0.95 of one
        thread's time (load 5 and 3; a render/composite split across the two
        threads did no better), a whole 60-s job 0.86 of its wall time with
        the encoder beside it. The frames are the same as one thread makes
        (tests/render/test_fast_path.py); SYNCHRORAMA_THREADS=1 keeps to one.
        """
        if not self._prepared:
            raise RuntimeError("prepare() the renderer with a rig first")
        with _one_blas_thread():
            yield from self._frames(motion, start, stop, progress, cancel)

    def _frames(self, motion: MotionTrack, start: int, stop: int | None, progress: Progress | None,
                cancel: CancelToken | None) -> Iterator[np.ndarray]:
        stop = motion.n_frames if stop is None else min(stop, motion.n_frames)
        if stop - start < 2 or render_threads() < 2:
            for i in range(start, stop):
                if cancel is not None:
                    cancel.check()
                yield self.render_frame(motion.weights[i], motion.head[i], motion.gaze[i])
                if progress is not None:
                    progress("render", i + 1 - start, stop - start)
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        threads = render_threads()
        with ThreadPoolExecutor(threads, thread_name_prefix="mesh-render") as pool:
            pending: deque = deque()
            done = start
            try:
                for i in range(start, stop):
                    if cancel is not None:
                        cancel.check()
                    pending.append(pool.submit(self.render_frame, motion.weights[i], motion.head[i], motion.gaze[i]))
                    # one frame more in flight than threads: while the caller handles the
                    # frame it was given (the encoder's pipe), every thread still has one
                    if len(pending) <= threads:
                        continue
                    yield pending.popleft().result()
                    done += 1
                    if progress is not None:
                        progress("render", done - start, stop - start)
                while pending:
                    frame = pending.popleft().result()
                    yield frame
                    done += 1
                    if progress is not None:
                        progress("render", done - start, stop - start)
            finally:
                for f in pending:
                    f.cancel()


def _one_blas_thread():
    """BLAS held to one thread while frames render (threadpoolctl, when installed).

    The per-frame products (unit fields, a few thousand numbers) are far too
    small to share out; with a second BLAS thread each one waited for a
    core the render's own two threads and the encoder keep busy (measured:
    0.02 ms alone, up to 0.9 ms on a loaded machine).
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:      # an optional speed-up: frames are the same without it
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def render_threads() -> int:
    """Threads the mesh renderer may use: SYNCHRORAMA_THREADS, else 2 on a machine with 2+ cores."""
    import os

    env = os.environ.get("SYNCHRORAMA_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    return 2 if cores >= 2 else 1
