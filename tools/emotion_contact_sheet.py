"""Contact sheets of the forced emotions: portrait x emotion, and an intensity ramp.

    .venv/bin/python -m tools.emotion_contact_sheet OUT_DIR PORTRAIT [PORTRAIT ...]

Each cell is the mesh renderer's face crop for a silent, steady frame of
the class at full intensity (the portrait's own expression compensated as
in the pipeline); the ramp row is happy and sad at strength 0 / 0.5 / 1 / 1.5
on the first portrait. Written as PNG for docs/emotion.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
CELL = (150, 180)


def _cell(fr, emotion: str, strength: float, portrait: dict[str, float]) -> np.ndarray:
    import cv2

    from core.emotion.control import apply_user_control
    from core.emotion.face import emotion_to_motion
    from core.tracks import EmotionTrack, MotionTrack

    t = apply_user_control(EmotionTrack.neutral(3, 25.0), emotion, strength)
    t.sources.update({f"portrait_{k}": v for k, v in portrait.items()})
    m = MotionTrack.rest(3, 25.0)
    emotion_to_motion(m, t)
    r = fr.renderer
    img = r.render_crop(m.weights[1], m.head[1], m.gaze[1])
    pts = r.rest[:468, :2]
    pad = 0.12 * np.ptp(pts[:, 0])
    x0, y0 = np.maximum(pts.min(0) - pad, 0).astype(int)
    x1, y1 = np.minimum(pts.max(0) + pad, r.n).astype(int)
    return cv2.resize(img[y0:y1, x0:x1], CELL, interpolation=cv2.INTER_AREA)


def main(argv: list[str]) -> int:
    from core.emotion.fusion import portrait_expression
    from core.eval.emotion_reading import FaceReader
    from core.io.image import save_png

    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    rows, ramp = [], None
    for k, path in enumerate(argv[1:]):
        fr = FaceReader(path)
        pts = fr.rig.landmarks[:, :2]
        pe = portrait_expression(fr.rig.image, (*pts.min(0), *pts.max(0)))
        rows.append(np.concatenate([_cell(fr, e, 1.0, pe) for e in EMOTIONS], 1))
        if k == 0:
            ramp = np.concatenate([_cell(fr, e, s, pe) for e in ("happy", "sad") for s in (0.0, 0.5, 1.0, 1.5)], 1)
    save_png(out / "contact_emotions.png", np.concatenate(rows, 0))
    save_png(out / "contact_emotion_ramp.png", ramp)
    print("columns:", ", ".join(EMOTIONS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
