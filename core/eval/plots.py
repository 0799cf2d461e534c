"""``--report DIR``: PNG charts of the per-frame curves, drawn with OpenCV.

Drawn by hand (axes, lines, legend) so the report needs no plotting
library: mouth opening over time against the real speaker (or the audio
loudness), and the expression probabilities over time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 1000, 360, 60, 150, 30, 40
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
           (140, 86, 75), (127, 127, 127)]


def line_chart(series: dict[str, np.ndarray], fps: float, title: str, ylabel: str,
               ylim: tuple[float, float] | None = None) -> np.ndarray:
    """RGB uint8 image of the series against time in seconds (NaN leaves gaps)."""
    import cv2

    img = np.full((H, W, 3), 255, np.uint8)
    n = max((len(v) for v in series.values()), default=1)
    vals = np.concatenate([np.asarray(v, np.float64) for v in series.values()]) if series else np.zeros(1)
    vals = vals[np.isfinite(vals)]
    lo, hi = ylim or ((float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1, y0, y1 = PAD_L, W - PAD_R, PAD_T, H - PAD_B

    def to_px(i: float, v: float) -> tuple[int, int]:
        x = x0 + (x1 - x0) * i / max(1, n - 1)
        y = y1 - (y1 - y0) * (v - lo) / (hi - lo)
        return int(round(x)), int(round(y))

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        _, y = to_px(0, v)
        cv2.line(img, (x0, y), (x1, y), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.2f}", (4, y + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    seconds = (n - 1) / fps if fps > 0 else n
    step = max(1, int(np.ceil(seconds / 10)))
    for s in range(0, int(seconds) + 1, step):
        x, _ = to_px(s * fps, lo)
        cv2.line(img, (x, y1), (x, y1 + 4), (0, 0, 0), 1)
        cv2.putText(img, f"{s}s", (x - 8, y1 + 18), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for k, (name, v) in enumerate(series.items()):
        col = COLOURS[k % len(COLOURS)]
        v = np.asarray(v, np.float64)
        for i in range(1, len(v)):
            if np.isfinite(v[i - 1]) and np.isfinite(v[i]):
                cv2.line(img, to_px(i - 1, v[i - 1]), to_px(i, v[i]), col, 2, cv2.LINE_AA)
        cv2.line(img, (x1 + 10, y0 + 12 + 20 * k), (x1 + 30, y0 + 12 + 20 * k), col, 3)
        cv2.putText(img, name, (x1 + 36, y0 + 16 + 20 * k), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title, (x0, 20), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (x0 + 4, y0 + 14), font, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    return img


def write_report(res, out: Path) -> list[Path]:
    """mouth.png, expression.png and eval.json in ``out``."""
    from core.io.files import atomic_write_text
    from core.io.image import save_png

    out.mkdir(parents=True, exist_ok=True)
    written = []
    mouth = {"ours": res.opening}
    ref = "audio loudness (scaled)"
    if res.gt_opening is not None:
        mouth["real speaker"] = res.gt_opening
        ref = "real speaker"
    elif res.loudness is not None and np.isfinite(res.loudness).any():
        op = res.opening[np.isfinite(res.opening)]
        loud = res.loudness
        scale = (np.nanpercentile(op, 95) if op.size else 1.0) / max(np.nanpercentile(loud, 95), 1e-9)
        mouth[ref] = loud * scale
    lip = res.lipsync
    corr = lip.get("gt_corr") if res.gt_opening is not None else lip.get("mouth_audio_corr")
    lag = lip.get("gt_lag") if res.gt_opening is not None else lip.get("mouth_audio_lag")
    title = f"mouth opening (inner-lip gap / eye-corner distance) vs {ref}"
    if corr is not None:
        title += f": r = {corr:.3f} at lag {lag:+d}"
    p = out / "mouth.png"
    save_png(p, line_chart(mouth, res.fps, title, "opening"))
    written.append(p)
    if res.probs is not None:
        from core.face.expression import CLASSES

        series = {c: res.probs[:, k] for k, c in enumerate(CLASSES)}
        p = out / "expression.png"
        save_png(p, line_chart(series, res.fps, "expression probabilities (fer mini-Xception)",
                               "p", ylim=(0.0, 1.0)))
        written.append(p)
    p = out / "eval.json"
    atomic_write_text(p, json.dumps(res.to_dict(), indent=1))
    written.append(p)
    return written
