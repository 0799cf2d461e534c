"""Explain a filmed frame's landmarks as mesh-renderer motion.

Training needs, for every filmed frame, the motion frame the mesh renderer
would draw for it, so that the diffusion model learns to turn exactly the
kind of image it will be given at render time (the mesh renderer driven by
A2M) into the real face. So each frame's landmarks are fitted with the mesh
renderer's own parameters: a 3-D similarity (head yaw/pitch/roll, shift,
scale) around the renderer's pivot, then the expression units by bounded
least squares on the renderer's displacement fields, then the iris offset
as gaze. Rendering those parameters gives the motion frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.face import landmarks as L
from core.units import UNIT_NAMES

N_MESH = 468
# Points that move with the skull, not with the mouth or brows: the rigid fit uses these.
# Eye corners, nose ridge and base, forehead midline; no face-oval points: those are
# silhouette points that slide over the skin when the head turns.
RIGID = sorted(set([33, 133, 263, 362, 130, 359, 243, 463, 1, 2, 4, 5, 6, 98, 327, 168, 197, 195,
                    10, 151, 9, 8]))
# Ridge weight. Without it, what the rigid
# fit leaves over on a turned head (perspective the 2-D unit fields cannot express) is
# "explained" by antagonistic mouth units all near 1 (measured on HDTF footage: a
# smiling frame at 19 deg yaw gave lip_round 1.0, corner pull 1.0, corner depress 0.96,
# chin raise 1.0); at 0.1 the smile dominates and the antagonists drop to <= 0.3.
RIDGE = 0.1  # relative to the unit fields' mean squared norm
WINK_MIN = 0.15  # one eye this much more shut than the other (raw weight) counts as a wink


@dataclass
class FitResult:
    weights: np.ndarray  # (U,)
    head: np.ndarray     # (6,) yaw, pitch, roll (deg), tx, ty (face widths), scale offset
    gaze: np.ndarray     # (2,)
    residual: float      # rms landmark error after the fit, in pixels


def euler_from_matrix(R: np.ndarray) -> tuple[float, float, float]:
    """Inverse of the mesh renderer's R = Rz(roll) Rx(pitch) Ry(yaw), in degrees."""
    pitch = np.arcsin(np.clip(-R[2, 1], -1, 1))
    yaw = np.arctan2(R[2, 0], R[2, 2])
    roll = np.arctan2(-R[0, 1], R[1, 1])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: scale s, rotation R, translation t with dst ~ s R src + t."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.sign(np.linalg.det(u @ vt))
    D = np.diag([1.0, 1.0, d])
    R = u @ D @ vt
    s = float(np.trace(np.diag(sig) @ D) / (a ** 2).sum(1).mean())
    return s, R, md - s * R @ ms


class MotionFitter:
    """Fits MotionTrack parameters for one prepared MeshRenderer (its rest face)."""

    def __init__(self, mesh) -> None:
        self.mesh = mesh
        self.rest = mesh.rest.astype(np.float64)           # (478, 3) crop pixels
        self.pivot = np.asarray(mesh.pivot, np.float64)
        oval = set(L.FACE_OVAL)
        self.use = np.array([i for i in range(N_MESH) if i not in oval])
        F = mesh.fields_px.astype(np.float64)               # (U, 478, 2)
        self.A = F[:, self.use].reshape(len(F), -1).T       # (2P, U)
        # one weight for all units (per-unit scaling was tried: it crushed jaw 0.6 to 0.28)
        lam = RIDGE * float((self.A ** 2).sum(0).mean())
        self.A_ridge = np.vstack([self.A, np.sqrt(lam) * np.eye(self.A.shape[1])])
        self.ex = mesh.eye_w * 0.2
        self.blink = UNIT_NAMES.index("eye_blink")
        self.wink = (UNIT_NAMES.index("wink_right"), UNIT_NAMES.index("wink_left"))

    def _lids(self, field_w: np.ndarray) -> np.ndarray:
        """Fitted field weights -> the renderer's blink/wink inputs.

        The blink field is the sum of the two wink fields, so least squares
        (with the ridge) splits a plain blink into part blink, part winks.
        Per eye, closure = blink + wink in field space; the shared part is the
        blink, the rest a wink, and the renderer's easing is undone, so that
        rendering the weights closes each eye as far as the footage did.
        """
        w = field_w.copy()
        b, (r, l) = self.blink, self.wink
        raw_r = _unease(field_w[b] + field_w[r])
        raw_l = _unease(field_w[b] + field_w[l])
        w[r] = w[l] = 0.0
        if abs(raw_r - raw_l) < WINK_MIN:   # landmark noise between the eyes, not a wink
            w[b] = 0.5 * (raw_r + raw_l)
            return w
        w[b] = min(raw_r, raw_l)
        w[r if raw_r > raw_l else l] = max(raw_r, raw_l)  # the renderer closes each eye by max(blink, wink)
        return w

    def fit(self, pts: np.ndarray) -> FitResult:
        """pts: (478, 3) landmarks of the filmed frame in the same crop pixels as the rest face."""
        from scipy.optimize import lsq_linear

        q = np.asarray(pts, np.float64)
        src = self.rest[RIGID] - self.pivot
        s, R, t = similarity(src, q[RIGID] - self.pivot)
        yaw, pitch, roll = euler_from_matrix(R)
        fw = self.mesh.face_w
        head = np.array([yaw, pitch, roll, t[0] / fw, t[1] / fw, s - 1.0], np.float32)
        # back into the rest frame, then explain what is left with the units
        aligned = (q - self.pivot - t) @ R / s + self.pivot
        d = (aligned[:, :2] - self.rest[:, :2])
        rhs = np.concatenate([d[self.use].ravel(), np.zeros(self.A.shape[1])])
        res = lsq_linear(self.A_ridge, rhs, bounds=(0.0, 1.0), method="bvls")
        field_w = np.clip(res.x, 0, 1).astype(np.float32)
        w = self._lids(field_w)
        expressed = self.rest[:, :2] + np.tensordot(field_w, self.mesh.fields_px, axes=1)
        iris = [L.RIGHT_IRIS[0], L.LEFT_IRIS[0]]
        off = (aligned[iris, :2] - expressed[iris]).mean(0)
        gaze = np.clip([off[0] / self.ex, off[1] / (self.ex * 0.4)], -1, 1).astype(np.float32)
        rms = float(np.sqrt(np.mean((self.A @ res.x - d[self.use].ravel()) ** 2) * 2))
        return FitResult(weights=w, head=head, gaze=gaze, residual=rms)


def _unease(e: float) -> float:
    """Inverse of the renderer's lid easing e = 1 - (1 - w)^1.5."""
    return float(1.0 - (1.0 - min(1.0, max(0.0, e))) ** (2.0 / 3.0))
