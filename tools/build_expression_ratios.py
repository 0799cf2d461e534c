"""Build the expression ratio maps the mesh renderer multiplies into a face's skin.

Expression ratio images (Liu, Shan & Zhang, SIGGRAPH 2001): for a real
actor, the ratio of an expressive frame to a neutral frame, both unwrapped
into one face texture space, holds what the expression does to the skin's
shading (folds, bulges, wrinkles) independently of the actor's albedo.
Multiplied into another face in the same texture space, it makes the
folds appear in that face's own colours.

A raw ratio also carries the actor's lighting, brows, blemishes and speech
(docs/emotion.md), so here it is cleaned before it ships:
- the median over the middle of each clip (speech moves the mouth; the
  median keeps what the expression holds);
- log luminance only (the portrait's colours are kept);
- band-limited: a 1-px blur removes compression noise and pores, and the
  part slower than ``FACE_BAND_SIGMA`` is removed (lighting, head pose);
- confined to the skin where expressions fold it, away from eyes, brows'
  hair, lips and the hairline;
- kept only where the MEAD actors that have a neutral clip (M030, W009)
  agree, at the weaker actor's strength.

Each emotion becomes one unit, ``expr_<emotion>``, holding both the
actors' landmark displacement (geometry) and the ratio map (appearance),
so one weight drives both. Per-region maps driven by single FACS units
were tried first (2026-12-02) and dropped: on the dev portraits they
turned forced anger on lp_s1 into a smile reading and left a bright patch
at the glabella (docs/emotion.md). Run:

    .venv/bin/python -m tools.build_expression_ratios ../shared/data/emotion_faces

It writes core/render/data/expression_ratios.npz and its manifest (sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

SIDE = 256                # texture side (the MEAD face is about 160 px wide)
NOISE_SIGMA = 2.0
CLIP = 0.45               # |log ratio| cap (x1.57 / x0.64 at full strength)
FACE_BAND_SIGMA = 40.0    # whole-face emotion maps keep broader shading (cheek bulge, brow mass)
# whole-face emotions: our class name -> MEAD clip name; each becomes a unit
# "expr_<class>" with a learned shape (landmark displacement) and a ratio map
EMOTION_CLIPS = {"happy": "happy", "sad": "sad", "angry": "angry", "surprised": "surprised",
                 "fearful": "fear", "disgusted": "disgusted"}
# Share of the actors' full-strength face a unit of weight 1 carries. Disgust
# at full strength moved the identity distance past 0.45 on the embedded
# sample (0.477; 0.458 at 0.8; tests/render/test_mesh_measured.py), so it ships at 0.7.
EMOTION_SCALE = {"disgusted": 0.7}
# Emotions whose folds are all below the brows: their maps are cut above them
# (the happy map kept a faint forehead pattern that showed as a smudge on
# small and painted faces, st_sad and lp_s5 in docs/contact_emotions.png).
BELOW_BROWS = ("happy", "disgusted")
# points that do not move with expression: a 3-D similarity on them removes head pose
RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 33, 133, 263, 362, 127, 356, 234, 454, 162, 389, 21, 251)
ACTORS = ("M030", "W009")
OUT_DIR = Path(__file__).resolve().parents[1] / "core" / "render" / "data"
NAME = "expression_ratios"

def _keep_mask(p: np.ndarray) -> np.ndarray:
    """Where appearance may change: inside the face oval, away from eyes, brows' hair and lips."""
    import cv2

    from core.face import landmarks as L

    eye_d = float(np.linalg.norm(p[263] - p[33]))
    u = eye_d / 100.0
    face = np.zeros((SIDE, SIDE), np.float32)
    cv2.fillPoly(face, [np.round(p[L.FACE_OVAL] * 4).astype(np.int32)], 1.0, cv2.LINE_AA, 2)
    face = cv2.erode(face, np.ones((3, 3), np.uint8), iterations=int(3 * u))
    cut = np.zeros((SIDE, SIDE), np.float32)
    for poly in (L.RIGHT_EYE, L.LEFT_EYE, L.LIPS_OUTER):
        cv2.fillPoly(cut, [np.round(p[poly] * 4).astype(np.int32)], 1.0, cv2.LINE_AA, 2)
    for brow in (L.RIGHT_BROW, L.LEFT_BROW):
        hull = cv2.convexHull(np.round(p[brow] * 4).astype(np.int32))
        cv2.fillPoly(cut, [hull], 1.0, cv2.LINE_AA, 2)
    for i in (79, 309, 98, 327, 20, 250):   # nostrils: dark holes that slide with the wings
        cv2.circle(cut, (int(round(p[i][0] * 4)), int(round(p[i][1] * 4))), int(round(5 * u * 4)), 1.0, -1,
                   cv2.LINE_AA, 2)
    cut = cv2.dilate(cut, np.ones((3, 3), np.uint8), iterations=int(2 * u))
    # the lids' edges slide in every expression: a wider margin there, or
    # raised lids leave a dark ring (seen on st_sad's surprise)
    eyes = np.zeros((SIDE, SIDE), np.float32)
    for poly in (L.RIGHT_EYE, L.LEFT_EYE):
        cv2.fillPoly(eyes, [np.round(p[poly] * 4).astype(np.int32)], 1.0, cv2.LINE_AA, 2)
    cut = np.maximum(cut, cv2.dilate(eyes, np.ones((3, 3), np.uint8), iterations=int(5 * u)))
    keep = face * (1 - cut)
    return cv2.GaussianBlur(keep, (0, 0), 2.5 * u)


def _below_brows(p: np.ndarray) -> np.ndarray:
    """Soft mask, 1 below the brows' lower edge and 0 a few pixels above it."""
    from core.face import landmarks as L

    edge = float(np.mean([p[L.RIGHT_BROW, 1].max(), p[L.LEFT_BROW, 1].max()]))
    ys = np.arange(SIDE, dtype=np.float32)[:, None]
    return np.broadcast_to(np.clip((ys - edge) / 6.0 + 0.5, 0, 1), (SIDE, SIDE)).astype(np.float32)


def _clip_frames(path: Path, step: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, landmarks) from the middle of a clip, where the expression is held."""
    from core.face.rig import detect_landmarks
    from core.io.video import iter_frames

    frames = list(iter_frames(path))
    out = []
    for i in range(int(len(frames) * 0.15), int(len(frames) * 0.95), step):
        found = detect_landmarks(frames[i])
        if found:
            out.append((frames[i], found[0]))
    if len(out) < 8:
        raise RuntimeError(f"too few faces found in {path}")
    return out


def _log_lum_median(frames: list[tuple[np.ndarray, np.ndarray]], layout) -> np.ndarray:
    import cv2

    from core.render.texture_space import to_texture

    stack = []
    for f, pts in frames:
        tex, _ = to_texture(f, pts, layout)
        y = cv2.cvtColor(tex, cv2.COLOR_RGB2GRAY).astype(np.float32)
        stack.append(np.log(y + 4.0))
    return np.median(np.stack(stack), 0)


def face_band(ratio: np.ndarray) -> np.ndarray:
    """Whole-face part of a log ratio: noise and the broadest lighting removed."""
    import cv2

    return cv2.GaussianBlur(ratio, (0, 0), NOISE_SIGMA) - cv2.GaussianBlur(ratio, (0, 0), FACE_BAND_SIGMA)


def agreed(parts: list[np.ndarray]) -> np.ndarray:
    """What the actors agree on: 0 where their ratios differ in sign, else the weaker one.

    A plain mean kept one actor's hair falling over the forehead in the
    happy map (a dark patch on every smiling portrait); a fold that both
    actors make survives.
    """
    stack = np.stack(parts)
    same = np.all(stack > 0, 0) | np.all(stack < 0, 0)
    weak = np.take_along_axis(stack, np.abs(stack).argmin(0)[None], 0)[0]
    return np.where(same, weak, 0.0).astype(np.float32)


def _similarity_3d(p: np.ndarray, q: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation and shift that best map points p onto q (Umeyama)."""
    mp, mq = p.mean(0), q.mean(0)
    p0, q0 = p - mp, q - mq
    u, sv, vt = np.linalg.svd(p0.T @ q0)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = (u @ d @ vt).T
    scale = float((sv * np.diag(d)).sum() / (p0 ** 2).sum())
    return scale, rot, mq - scale * rot @ mp


def _aligned_median(frames: list[np.ndarray], ref: np.ndarray) -> np.ndarray:
    idx = list(RIGID)
    out = []
    for p in frames:
        s, rot, t = _similarity_3d(p[idx], ref[idx])
        out.append((s * (rot @ p.T)).T + t)
    return np.median(np.stack(out), 0)


def expression_shape(expr: list, neutral: list) -> np.ndarray:
    """(478, 2) landmark displacement of an expression in the eye-fixed face frame.

    Each frame is aligned in 3-D to the actor's neutral face on points that
    do not move with expression (so head pitch and turns drop out), the
    medians are differenced, and the jaw opening of speech is projected
    out: the actors talk through every clip, and the expression must not
    leave the mouth hanging open (visemes open it). The corners, cheeks,
    lids and brows keep their measured motion.
    """
    from core.render.mesh_units import build_unit_fields, face_frame
    from core.units import UNIT_NAMES

    neu = [np.asarray(p, np.float64)[:478] for _, p in neutral]
    exp = [np.asarray(p, np.float64)[:478] for _, p in expr]
    ref = np.median(np.stack(neu), 0)
    for _ in range(2):
        ref = _aligned_median(neu, ref)
    f = face_frame(ref)
    delta = f.to_canon(_aligned_median(exp, ref)) - f.to_canon(ref)
    _, fields = build_unit_fields(ref)
    jaw = fields[UNIT_NAMES.index("jaw_open")]
    from core.face import landmarks as L

    low = sorted(set(L.LOWER_LIP_OUTER + L.LOWER_LIP_INNER) | {152, 175, 199, 200, 18})
    k = float(np.sum(delta[low] * jaw[low]) / max(np.sum(jaw[low] ** 2), 1e-9))
    if k > 0:
        delta = delta - k * jaw
    delta[468:] = 0.0   # irises: the renderer moves them with the lids and the gaze
    return delta


def build(data_dir: Path) -> tuple[dict[str, np.ndarray], dict]:
    from core.render.texture_space import TextureLayout, canonical_points

    wanted = {"neutral", *EMOTION_CLIPS.values()}
    clips = {(a, e): data_dir / f"{a}_front_{e}_{'level1' if e == 'neutral' else 'level3'}_001.mp4"
             for a in ACTORS for e in wanted}
    missing = [str(p) for p in clips.values() if not p.exists()]
    if missing:
        raise SystemExit(f"missing MEAD clips: {', '.join(missing)}")
    frames = {k: _clip_frames(p) for k, p in clips.items()}
    canon = canonical_points([pts for a in ACTORS for _, pts in frames[(a, "neutral")]], SIDE)
    layout = TextureLayout.from_points(canon, SIDE)
    med = {k: _log_lum_median(v, layout) for k, v in frames.items()}
    maps: dict[str, np.ndarray] = {}
    units: dict[str, dict[str, float]] = {}
    per_actor: dict[str, dict[str, float]] = {}
    keep = _keep_mask(canon)
    shapes: dict[str, np.ndarray] = {}
    for emo, clip in EMOTION_CLIPS.items():
        r = agreed([face_band(med[(a, clip)] - med[(a, "neutral")]) for a in ACTORS])
        k = EMOTION_SCALE.get(emo, 1.0)
        region = keep * (_below_brows(canon) if emo in BELOW_BROWS else 1.0)
        maps[f"expr_{emo}"] = np.clip(k * r * region, -CLIP, CLIP).astype(np.float32)
        per_actor[f"expr_{emo}"] = {a: float(np.abs(face_band(med[(a, clip)] - med[(a, "neutral")]) * keep).sum()
                                            / keep.sum()) for a in ACTORS}
        units[f"expr_{emo}"] = {f"expr_{emo}": 1.0}
        shapes[emo] = k * np.mean([expression_shape(frames[(a, clip)], frames[(a, "neutral")])
                                   for a in ACTORS], 0)
    sources = {f"expr_{e}": [clip] for e, clip in EMOTION_CLIPS.items()}
    meta = {
        "kind": "synchrorama-expression-ratios", "version": 2, "side": SIDE,
        "components": {c: {"sources": sources[c], "units": units[c]} for c in maps},
        "shapes": list(shapes), "face_band_sigma": FACE_BAND_SIGMA, "emotion_scale": EMOTION_SCALE,
        "noise_sigma": NOISE_SIGMA, "clip": CLIP,
        "actors": list(ACTORS), "mean_abs_per_actor": per_actor,
        "source": "MEAD front clips (level 3 vs the same actor's neutral clip), median log luminance "
                  "in the face-mesh texture space, band-limited, region-confined, averaged over actors",
        "licence": "Derived from MEAD (research use). See core/render/data/LICENCE.txt.",
    }
    arrays = {f"map_{c}": m.astype(np.float16) for c, m in maps.items()}
    arrays.update({f"shape_{e}": v.astype(np.float32) for e, v in shapes.items()})
    arrays["points"] = layout.points.astype(np.float32)
    arrays["triangles"] = layout.triangles.astype(np.int32)
    return arrays, meta


def write(arrays: dict[str, np.ndarray], meta: dict, out_dir: Path = OUT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}.npz"
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    meta = dict(meta, file=path.name, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    (out_dir / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path, help="folder with the MEAD front clips (../shared/data/emotion_faces)")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    arrays, meta = build(args.data_dir)
    path = write(arrays, meta, args.out)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    for c, v in meta["mean_abs_per_actor"].items():
        print(f"  {c}: " + ", ".join(f"{a} {x:.3f}" for a, x in v.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
