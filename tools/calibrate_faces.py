"""Calibrate emotion -> action-unit prototypes on real acted faces (MEAD).

For each actor, the median face-mesh shape of the neutral clip and of each
emotion clip are put in the mesh renderer's canonical frame (eyes fixed),
and the emotion's displacement is explained as a bounded least-squares
combination of the renderer's own AU displacement fields. The weights are
therefore in the renderer's units: weight 1 moves the face as much as the
unit does at full strength. Medians over the clip keep speech movements out.
Run ``.venv/bin/python -m tools.calibrate_faces ../shared/data/emotion_faces``;
it writes ``core/emotion/face_prototypes.json`` (committed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from core.units import UNITS

AU_UNITS = [n for n, (g, _) in UNITS.items() if g == "au" and n != "eye_blink"]
OUT = Path(__file__).resolve().parents[1] / "core" / "emotion" / "face_prototypes.json"
NAMES = {"fear": "fearful"}

# EMFACS-style prototypes (Friesen & Ekman) on this project's units; the
# calibration only scales the units a prototype names, because unrestricted
# fits pick up speech and small head turns (relative residuals 0.5-0.85).
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "happy": ("cheek_raise", "lip_corner_pull", "lid_tighten"),
    "sad": ("brow_inner_up", "brow_lower", "lip_corner_depress", "chin_raise"),
    "surprised": ("brow_inner_up", "brow_outer_up", "upper_lid_raise"),
    "fearful": ("brow_inner_up", "brow_outer_up", "brow_lower", "upper_lid_raise", "lid_tighten"),
    "angry": ("brow_lower", "upper_lid_raise", "lid_tighten", "lip_press"),
    "disgusted": ("nose_wrinkle", "upper_lip_raise", "lip_corner_depress", "chin_raise"),
    "contempt": ("contempt_corner", "lip_corner_pull"),
}


def clip_landmarks(path: Path, step: int = 2, max_frames: int = 80) -> np.ndarray:
    """(F, 478, 3) landmarks of every ``step``-th frame."""
    import cv2

    from core.face.rig import detect_landmarks

    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while len(out) < max_frames:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % step == 0:
            faces = detect_landmarks(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if faces:
                out.append(faces[0])
        i += 1
    cap.release()
    return np.array(out)


def calibrate(folder: Path) -> dict:
    from scipy.optimize import lsq_linear

    from core.face import landmarks as L
    from core.units import UNIT_NAMES
    from core.render.mesh_units import build_unit_fields, face_frame

    clips = sorted(folder.glob("*_front_*.mp4"))
    actors = sorted({p.name.split("_")[0] for p in clips})
    oval = set(L.FACE_OVAL)
    use = np.array([i for i in range(468) if i not in oval])
    per_actor: dict[str, dict[str, dict[str, float]]] = {}
    residual: dict[str, dict[str, float]] = {}
    for actor in actors:
        neutral = [p for p in clips if p.name.startswith(actor) and "_neutral_" in p.name]
        if not neutral:
            continue
        lm_n = clip_landmarks(neutral[0])
        ref = np.median(lm_n, 0)
        frame, fields = build_unit_fields(ref)
        canon_n = np.median(np.stack([face_frame(p).to_canon(p) for p in lm_n]), 0)
        cols = [UNIT_NAMES.index(u) for u in AU_UNITS]
        A = np.stack([fields[c][use].ravel() for c in cols], 1)
        per_actor[actor] = {}
        residual[actor] = {}
        for p in clips:
            if not p.name.startswith(actor) or "_neutral_" in p.name:
                continue
            emo = p.name.split("_")[2]
            emo = NAMES.get(emo, emo)
            lm = clip_landmarks(p)
            canon = np.median(np.stack([face_frame(q).to_canon(q) for q in lm]), 0)
            d = (canon - canon_n)[use].ravel()
            proto = [AU_UNITS.index(u) for u in PROTOTYPES.get(emo, ())]
            res = lsq_linear(A[:, proto].astype(np.float64), d.astype(np.float64), bounds=(0, 1.5))
            w = np.zeros(len(AU_UNITS))
            w[proto] = res.x
            per_actor[actor][emo] = {u: round(float(x), 4) for u, x in zip(AU_UNITS, w)}
            residual[actor][emo] = round(float(np.linalg.norm(A @ w - d) / (np.linalg.norm(d) + 1e-9)), 3)
            print(actor, emo, {u: round(float(x), 2) for u, x in zip(AU_UNITS, w) if x > 0.0},
                  "rel.residual", residual[actor][emo], flush=True)
    emos = sorted({e for a in per_actor.values() for e in a})
    mean = {e: {u: round(float(np.mean([per_actor[a][e][u] for a in per_actor if e in per_actor[a]])), 4)
                for u in AU_UNITS} for e in emos}
    return {"source": "MEAD M030, W009 front clips, level 3 vs neutral; median shapes; "
                      "bounded least squares on the mesh renderer's AU fields, restricted to "
                      "each emotion's EMFACS prototype units",
            "prototypes": {k: list(v) for k, v in PROTOTYPES.items()},
            "units": AU_UNITS, "mean": mean, "per_actor": per_actor, "relative_residual": residual}


if __name__ == "__main__":
    result = calibrate(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/emotion_faces"))
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("wrote", OUT)
