"""``synchrorama eval``: measure a rendered (or real) talking-face video."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import UserInputError


def configure_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", type=Path, help="the video to measure")
    p.add_argument("--gt", type=Path, help="the real video of the same speech (lip-sync vs the real "
                   "mouth, PSNR/SSIM)")
    p.add_argument("--portrait", type=Path, help="the portrait it was made from (identity distance)")
    p.add_argument("--expect", help="the expression the video should show (happy, sad, angry, "
                   "surprise, fear, disgust, neutral)")
    p.add_argument("--audio", type=Path, help="audio for the loudness correlation (default: the "
                   "video's own track)")
    p.add_argument("--tracks", type=Path, help="tracks JSON from `render --save-tracks` (bilabial "
                   "closure on the aligned p/b/m)")
    p.add_argument("--max-lag", type=int, default=2, help="largest lag in frames searched (default 2)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    p.add_argument("--report", type=Path, metavar="DIR", help="write plots (PNG) and eval.json here")
    from core.io.checks import add_overwrite_flag

    add_overwrite_flag(p, "an earlier report in the --report folder")


REPORT_FILES = ("mouth.png", "expression.png", "eval.json")   # what core.eval.plots.write_report writes


def _check_report_dir(folder: Path, overwrite: bool) -> None:
    """--report DIR, before any measuring: a folder (or a new one), not holding an earlier report
    unless --overwrite."""
    from core.io.checks import check_not_existing

    if folder.exists() and not folder.is_dir():
        raise UserInputError("--report is a file, not a folder.", folder,
                             "Give a folder for the plots and eval.json, e.g. --report out/report.")
    for name in REPORT_FILES:
        check_not_existing(folder / name, overwrite, "--report folder")


def _alignment(path: Path | None):
    if path is None:
        return None
    from core.tracks import Tracks

    if not path.is_file():
        raise UserInputError("tracks file not found.", path, "Write one with `synchrorama render --save-tracks`.")
    try:
        tracks = Tracks.load(path)
    except UserInputError:
        raise
    except Exception:
        raise UserInputError("cannot read the tracks file.", path,
                             "Use a file written by `synchrorama render --save-tracks`.") from None
    return tracks.alignment


def _fmt(v, spec: str = ".3f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def format_table(d: dict) -> str:
    """The result as an aligned two-column table."""
    lip, ide, exp, mot, img = d["lipsync"], d["identity"], d["expression"], d["motion"], d["image"]
    top = exp["top"]
    rows = [
        ("video", d["video"]),
        ("frames (with a face)", f"{d['frames']} ({d['face_frames']}) at {d['fps']:g} fps"),
        ("lip-sync: mouth vs audio r (lag)", f"{_fmt(lip['mouth_audio_corr'])} ({_fmt(lip['mouth_audio_lag'])})"),
        ("lip-sync: mouth vs real r (lag)", f"{_fmt(lip['gt_corr'])} ({_fmt(lip['gt_lag'])})"),
        ("mouth opening spread (vs real, ratio)",
         f"{_fmt(lip.get('mouth_spread'))} ({_fmt(lip.get('gt_mouth_spread'))}, {_fmt(lip.get('mouth_spread_ratio'), '.2f')})"),
        ("lip-sync: bilabials closed (n)",
         f"{_fmt(lip['bilabial_closure_rate'])} ({_fmt(lip['bilabial_count'])})"),
        ("identity distance mean / max", f"{_fmt(ide['distance_mean'])} / {_fmt(ide['distance_max'])}"),
        ("expression top (p)", f"{top} ({_fmt(exp['mean_probs'].get(top) if top else None, '.2f')})"),
        ("expression agreement", f"{_fmt(exp['agreement'], '.2f')}" + (f" with {exp['expect']}" if exp['expect'] else "")),
        ("head yaw / pitch / roll std (deg)",
         f"{_fmt(mot['yaw_std_deg'], '.2f')} / {_fmt(mot['pitch_std_deg'], '.2f')} / {_fmt(mot['roll_std_deg'], '.2f')}"),
        ("head yaw / pitch / roll speed (deg/s)",
         f"{_fmt(mot.get('yaw_speed_deg_s'), '.1f')} / {_fmt(mot.get('pitch_speed_deg_s'), '.1f')} / "
         f"{_fmt(mot.get('roll_speed_deg_s'), '.1f')}"),
        ("blinks per minute", _fmt(mot["blinks_per_min"], ".1f")),
        ("landmark jitter (/ eye distance)", _fmt(mot["jitter"], ".4f")),
        ("frozen frames", _fmt(mot["frozen_fraction"], ".3f")),
        ("still frame pairs (landmarks < 0.2 % eye distance)", _fmt(mot.get("still_fraction"), ".3f")),
        ("PSNR (dB) / SSIM vs real", f"{_fmt(img['psnr'], '.2f')} / {_fmt(img['ssim'], '.4f')}"),
    ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def run_eval(args: argparse.Namespace) -> int:
    from core.eval import evaluate

    if args.report is not None:
        _check_report_dir(args.report, args.overwrite)

    def progress(stage: str, done: float, total: float) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{stage} {100 * done / max(total, 1):5.1f}%", end="", file=sys.stderr, flush=True)

    res = evaluate(args.video, gt=args.gt, portrait=args.portrait, expect=args.expect, audio=args.audio,
                   alignment=_alignment(args.tracks), max_lag=args.max_lag, report_dir=args.report,
                   progress=progress)
    if not args.json and sys.stderr.isatty():
        print("", file=sys.stderr)
    d = res.to_dict()
    if args.json:
        print(json.dumps(d))
    else:
        print(format_table(d))
        if args.report:
            print(f"report written to {args.report}")
    return 0
