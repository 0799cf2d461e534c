"""Contact sheet of the largest head turns at --head-motion 2, to look for tearing.

Why: a larger head turn is where the mesh renderer's pose warp could smear
hair, ears or the background beside the head. For each portrait the
narration is analysed once, the motion built at amount 2 (the top of the
range), and the frames with the most extreme yaw, pitch and roll are
rendered in full (composited into the photo, background included) beside
the rest frame. Usage::

    python -m bench.head_motion_sheet OUT.png [--amount 2] [--audio WAV] PORTRAIT...
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

TILE = 176


def extreme_frames(head: np.ndarray) -> list[tuple[str, int]]:
    """(label, frame) for the rest frame and each axis's two extremes."""
    out = [("first frame", 0)]
    for col, name in enumerate(("yaw", "pitch", "roll")):
        out.append((f"{name} min", int(np.argmin(head[:, col]))))
        out.append((f"{name} max", int(np.argmax(head[:, col]))))
    return out


def _tile(frame: np.ndarray, box: tuple[int, int, int, int], text: str) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = box
    crop = frame[y0:y1, x0:x1]
    crop = cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA)
    cv2.rectangle(crop, (0, 0), (TILE, 18), (0, 0, 0), -1)
    cv2.putText(crop, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return crop


def sheet_row(portrait: Path, audio: Path, amount: float, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """One portrait's tiles side by side, and the head track they came from."""
    from core.pipeline import RenderRequest, analyse, build_motion
    from core.render.mesh import MeshRenderer
    from core.speech.features import analyse_audio

    req = RenderRequest(image=portrait, audio=audio, fps=25.0, size=512, cache_root=cache)
    rig, aud, tracks = analyse(req)
    feats = analyse_audio(aud.samples, aud.sample_rate)
    t = tracks
    motion = build_motion(feats, t.alignment, t.emotion, t.scenes, t.fps, t.motion.n_frames, 0, [],
                          head_motion=amount)
    r = MeshRenderer(size=512)
    r.prepare(rig, 512)
    cx, cy, side = rig.crop
    h, w = rig.image.shape[:2]
    half = int(side * 0.75)                      # the head with hair, ears and some background
    s = r.out_scale
    box = (max(0, int((cx - half) * s)), max(0, int((cy - half) * s)),
           min(r.out_w, int((cx + half) * s)), min(r.out_h, int((cy + half) * s)))
    tiles = []
    for name, i in extreme_frames(motion.head):
        frame = r.composite(r.render_crop(motion.weights[i], motion.head[i], motion.gaze[i]))
        y, p, ro = motion.head[i, :3]
        tiles.append(_tile(frame, box, f"{name}: y{y:+.0f} p{p:+.0f} r{ro:+.0f}"))
    return np.concatenate(tiles, axis=1), motion.head


def main(argv: list[str] | None = None) -> int:
    import cv2

    from core.pipeline import sample_paths

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("portraits", type=Path, nargs="+")
    ap.add_argument("--audio", type=Path, default=sample_paths()[1])
    ap.add_argument("--amount", type=float, default=2.0)
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in a.portraits:
            row, head = sheet_row(p, a.audio, a.amount, Path(tmp))
            rows.append(row)
            std = head[:, :3].std(0)
            print(f"{p.name}: yaw/pitch/roll std {std[0]:.1f} / {std[1]:.1f} / {std[2]:.1f} deg, "
                  f"extremes {np.abs(head[:, :3]).max(0).round(1).tolist()}")
    img = np.concatenate(rows, axis=0)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {a.out} ({a.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
