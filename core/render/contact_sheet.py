"""Contact sheets and unit pictures for the mesh renderer's documentation.

Why: quality is judged by looking. ``python -m core.render.contact_sheet``
renders every expression unit at full strength (and the head poses) on the
given portraits and writes labelled grids to ``docs/``, plus one rest-vs-full
picture per unit under ``docs/units/`` and a 2-s sequence sheet per
portrait, so anyone can see what each unit does without running the app.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.units import UNIT_NAMES


@dataclass
class Pose:
    """One labelled pose for a sheet: unit weights, head and gaze."""

    label: str
    units: dict[str, float]
    head: tuple[float, ...] = (0, 0, 0, 0, 0, 0)
    gaze: tuple[float, float] = (0.0, 0.0)


def unit_poses() -> list[Pose]:
    poses = [Pose("rest", {})]
    poses += [Pose(n, {n: 1.0}) for n in UNIT_NAMES]
    return poses


def head_poses() -> list[Pose]:
    return [Pose("yaw -20", {}, (-20, 0, 0, 0, 0, 0)), Pose("yaw +20", {}, (20, 0, 0, 0, 0, 0)),
            Pose("pitch -15", {}, (0, -15, 0, 0, 0, 0)), Pose("pitch +15", {}, (0, 15, 0, 0, 0, 0)),
            Pose("roll -10", {}, (0, 0, -10, 0, 0, 0)), Pose("roll +10", {}, (0, 0, 10, 0, 0, 0)),
            Pose("gaze left", {}, gaze=(-1.0, 0.0)), Pose("gaze right", {}, gaze=(1.0, 0.0)),
            Pose("gaze up", {}, gaze=(0.0, -1.0)),
            Pose("smile+blink", {"lip_corner_pull": 1, "cheek_raise": 0.6, "eye_blink": 1}),
            Pose("surprise", {"jaw_open": 0.8, "brow_inner_up": 1, "brow_outer_up": 1, "upper_lid_raise": 1}),
            Pose("anger", {"brow_lower": 1, "lid_tighten": 1, "lip_press": 1, "chin_raise": 0.5})]


def render_pose(renderer, pose: Pose) -> np.ndarray:
    """The work crop for one pose (what the warp produces, before compositing)."""
    w = np.zeros(len(UNIT_NAMES), np.float32)
    for k, v in pose.units.items():
        if k in UNIT_NAMES:
            w[UNIT_NAMES.index(k)] = v
    return renderer.render_crop(w, np.asarray(pose.head, np.float32), np.asarray(pose.gaze, np.float32))


def label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = img.copy()
    h = max(14, img.shape[0] // 14)
    cv2.rectangle(out, (0, 0), (out.shape[1], h + 4), (0, 0, 0), -1)
    cv2.putText(out, text, (4, h), cv2.FONT_HERSHEY_SIMPLEX, h / 30, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    rows = (len(tiles) + cols - 1) // cols
    h, w = tiles[0].shape[:2]
    out = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = t
    return out


def face_zoom(renderer, img: np.ndarray, tile: int) -> np.ndarray:
    """Cut the face region (a bit wider than the face oval) and scale to ``tile``."""
    import cv2

    pts = renderer.rest[:, :2]
    c = pts.mean(0)
    half = 0.62 * max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
    x0, y0 = int(max(0, c[0] - half)), int(max(0, c[1] - half))
    x1, y1 = int(min(img.shape[1], c[0] + half)), int(min(img.shape[0], c[1] + half))
    return cv2.resize(img[y0:y1, x0:x1], (tile, tile), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> None:
    import cv2

    from core.face.rig import load_rig
    from core.render.mesh import MeshRenderer

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("portraits", nargs="+")
    ap.add_argument("--out", default="docs")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--units-dir", default="", help="also write one rest|full picture per unit here")
    ap.add_argument("--sequence", action="store_true", help="also write a 2-s sequence sheet")
    ap.add_argument("--zoom", action="store_true", help="tiles show the face only")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in a.portraits:
        name = Path(path).stem
        r = MeshRenderer(size=512)
        r.prepare(load_rig(path))
        tiles = []
        zoom = (lambda im: face_zoom(r, im, a.tile)) if a.zoom else (
            lambda im: cv2.resize(im, (a.tile, a.tile), interpolation=cv2.INTER_AREA))
        rest = render_pose(r, Pose("rest", {}))
        for p in unit_poses() + head_poses():
            img = render_pose(r, p)
            tiles.append(label(zoom(img), p.label))
            if a.units_dir and p.label in UNIT_NAMES:
                ud = Path(a.units_dir)
                ud.mkdir(parents=True, exist_ok=True)
                pair = np.concatenate([label(face_zoom(r, rest, 320), "rest"),
                                       label(face_zoom(r, img, 320), f"{p.label} = 1")], 1)
                cv2.imwrite(str(ud / f"{p.label}.png"), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))
        sheet = grid(tiles, 6)
        cv2.imwrite(str(out / f"contact_units_{name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        if a.sequence:
            seq = sequence_sheet(r, a.tile)
            cv2.imwrite(str(out / f"contact_sequence_{name}.png"), cv2.cvtColor(seq, cv2.COLOR_RGB2BGR))


def demo_motion(n: int = 50, fps: float = 25.0):
    """A 2-s scripted talking sequence: syllables, a blink, a smile, a head turn and nod."""
    from core.tracks import MotionTrack

    m = MotionTrack.rest(n, fps)
    t = np.arange(n) / fps
    m.unit("jaw_open")[:] = np.clip(np.sin(2 * np.pi * 2.6 * t), 0, None) * 0.8
    m.unit("lip_round")[:] = np.clip(np.sin(2 * np.pi * 1.3 * t + 2.0), 0, None) * 0.6
    m.unit("lip_close")[:] = np.exp(-((t - 1.15) / 0.06) ** 2)
    m.unit("eye_blink")[:] = np.exp(-((t - 0.7) / 0.07) ** 2)
    m.unit("lip_corner_pull")[:] = np.clip((t - 1.0) / 0.6, 0, 1) * 0.8
    m.unit("cheek_raise")[:] = np.clip((t - 1.0) / 0.6, 0, 1) * 0.6
    m.unit("brow_inner_up")[:] = np.exp(-((t - 0.4) / 0.25) ** 2) * 0.7
    m.head[:, 0] = 14 * np.sin(2 * np.pi * 0.5 * t)
    m.head[:, 1] = 6 * np.sin(2 * np.pi * 1.0 * t)
    m.head[:, 2] = 5 * np.sin(2 * np.pi * 0.35 * t)
    m.gaze[:, 0] = 0.5 * np.sin(2 * np.pi * 0.5 * t)
    return m


def sequence_sheet(renderer, tile: int) -> np.ndarray:
    import cv2

    m = demo_motion()
    tiles = []
    for i, frame in enumerate(renderer.frames(m)):
        if i % 3 == 0:
            x0, y0, x1, y1 = renderer.dst_box
            part = frame[y0:y1, x0:x1]
            tiles.append(label(cv2.resize(part, (tile, tile), interpolation=cv2.INTER_AREA), f"t={i / m.fps:.2f}s"))
    return grid(tiles, 6)


if __name__ == "__main__":
    main()
