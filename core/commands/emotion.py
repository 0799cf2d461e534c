"""``synchrorama analyze`` and ``synchrorama train-ser``.

``analyze`` runs the emotion analysis alone (no face, no render) and prints
the utterance-level result; it accepts a folder to analyse many clips.
``train-ser`` retrains the SER heads from a folder of RAVDESS/TESS-style
data and writes weights + manifest (+ a metrics JSON for docs/ser.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.commands.common import read_script, script_file
from core.errors import UserInputError

AUDIO_EXT = {".wav", ".flac", ".mp3", ".m4a", ".ogg", ".mp4", ".aac", ".opus"}


def configure_analyze(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", type=Path, required=True, help="narration file, or a folder of clips")
    p.add_argument("--script", help="the narration's text, or @FILE")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--emotion", default="auto", help="preview a forced emotion (auto = analysis)")
    p.add_argument("--emotion-strength", type=float, default=1.0)
    p.add_argument("--emotion-curve", help="keyframed emotion curves (JSON)")
    p.add_argument("--save-tracks", type=Path, help="write the per-frame emotion track (JSON)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    from core.io.checks import add_overwrite_flag

    add_overwrite_flag(p, "the --save-tracks file")


def _top(d: dict[str, float]) -> str:
    return max(d, key=d.get)


def analyse_file(path: Path, script: str | None, fps: float, emotion: str = "auto",
                 strength: float = 1.0, curves: str | None = None) -> tuple[dict, object]:
    """Utterance-level summary + the per-frame EmotionTrack of one clip."""
    from core.emotion.control import apply_user_control
    from core.emotion.fusion import analyse_emotion, emotion_warnings
    from core.emotion.ser import (
        PROSODY_SLICE, circumplex, classify_vectors, load_model, utterance_vector,
    )
    from core.io.audio import load_audio
    from core.speech.features import analyse_audio
    from core.tracks import EMOTIONS, Alignment

    t0 = time.perf_counter()
    audio = load_audio(path)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    alignment = Alignment(script=script or "")
    if script:
        from core.speech.timing import speech_timing

        alignment = speech_timing(audio, script)
    n = max(1, int(round(audio.duration * fps)))
    track = analyse_emotion(audio, feats, alignment, fps, n)
    track = apply_user_control(track, emotion, strength, curves)
    model = load_model()
    if audio.duration <= 20.0:
        ac, wh = utterance_vector(audio.samples)
        p, head = classify_vectors(model, ac, wh)
        pr = model.prosody.raw(ac[PROSODY_SLICE])[0]
    else:
        from core.emotion.ser import predict_windows

        win = predict_windows(audio.samples, model=model, speech_mask=feats.voiced)
        w = win.confidence + 1e-6
        p = (win.probs * w[:, None]).sum(0) / w.sum()
        pr = np.array([np.average(win.pros_valence, weights=w), np.average(win.pros_arousal, weights=w)])
        head = win.head
    v, a = circumplex(p[None], model.classes)
    ser = {c: round(float(x), 4) for c, x in zip(model.classes, p)}
    fused = {c: round(float(x), 4) for c, x in zip(EMOTIONS, track.probs.mean(0))}
    out = {
        "file": str(path), "duration": round(audio.duration, 3),
        "ser": {"probs": ser, "top": _top(ser), "valence": round(float(v[0]), 3),
                "arousal": round(float(a[0]), 3), "head": head},
        "prosody": {"valence": round(float(np.clip(pr[0], -1, 1)), 3),
                    "arousal": round(float(np.clip(pr[1], -1, 1)), 3)},
        "text": None,
        "fused": {"probs": fused, "top": _top(fused), "valence": round(float(track.valence.mean()), 3),
                  "arousal": round(float(track.arousal.mean()), 3),
                  "intensity": round(float(track.intensity.mean()), 3)},
        "sources": track.sources,
        "warnings": emotion_warnings(track),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if script:
        from core.emotion.text import score_text

        out["text"] = score_text(script).summary()
    return out, track


def run_analyze(args: argparse.Namespace) -> int:
    from core.emotion.control import check_emotion_name

    check_emotion_name(args.emotion)          # before any analysis, like a bad curve file
    if args.emotion_curve:
        from core.emotion.curves import load_curves

        load_curves(args.emotion_curve)
    script = read_script(args.script)
    path: Path = args.audio
    if args.save_tracks is not None:   # before any analysis: writable, not an input, not the user's file
        from core.io.checks import check_not_existing, check_output

        check_output(args.save_tracks, {"--audio": path, "--script": script_file(args.script),
                                        "--emotion-curve": args.emotion_curve},
                     "--save-tracks", "tracks file", "tracks.json")
        check_not_existing(args.save_tracks, args.overwrite, "--save-tracks")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXT)
        if not files:
            raise UserInputError("no audio files in this folder.", path, "Point --audio at clips.")
    else:
        files = [path]
    results, tracks = [], {}
    for f in files:
        try:
            res, track = analyse_file(f, script, args.fps, args.emotion, args.emotion_strength,
                                      args.emotion_curve)
        except UserInputError as exc:
            if len(files) == 1:
                raise
            res, track = {"file": str(f), "error": str(exc)}, None
        results.append(res)
        for w in res.get("warnings", []):   # also with --json (stdout keeps the JSON alone)
            print(f"note: {w}", file=sys.stderr)
        if track is not None:
            tracks[str(f)] = track.to_dict()
        if not args.json:
            if "error" in res:
                print(f"{f}: {res['error']}")
            else:
                print(f"{f.name}: fused {res['fused']['top']} (V {res['fused']['valence']:+.2f}, "
                      f"A {res['fused']['arousal']:+.2f}); SER {res['ser']['top']} "
                      f"{res['ser']['probs'][res['ser']['top']]:.2f}"
                      + (f"; text V {res['text']['valence']:+.2f}" if res.get("text") else "")
                      + f" [{res['seconds']:.2f} s]")
    if args.save_tracks:
        from core.io.files import atomic_write_text

        doc = {"kind": "synchrorama-emotion-tracks", "schema": 1, "tracks": tracks}
        atomic_write_text(Path(args.save_tracks), json.dumps(doc, separators=(",", ":")))
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results))
    return 0


def configure_train_ser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True,
                   help="folder with ravdess/Actor_NN/*.flac (and optionally tess/...)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder for weights (default: core/emotion/weights)")
    p.add_argument("--include-tess", action="store_true", help="also train on TESS (never evaluated on)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, help="feature cache (.npz) to reuse between runs")
    p.add_argument("--no-cv", action="store_true", help="skip the grouped cross-validation report")
    p.add_argument("--report", type=Path, help="write the metrics JSON here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON on stdout")
    from core.io.checks import add_overwrite_flag

    add_overwrite_flag(p, "the --report file")


def run_train_ser(args: argparse.Namespace) -> int:
    from core.emotion.ser import WEIGHTS_DIR
    from core.emotion.ser_train import train

    out = args.out or WEIGHTS_DIR
    if args.report is not None:   # before minutes of training: writable, not the data, not the user's file
        from core.io.checks import check_not_existing, check_output

        check_output(args.report, {"--data": args.data, "--cache": args.cache}, "--report", "metrics file",
                     "ser_report.json")
        check_not_existing(args.report, args.overwrite, "--report")
    log = (lambda m: print(m, file=sys.stderr, flush=True))
    res = train(args.data, out, include_tess=args.include_tess, seed=args.seed, cache=args.cache,
                evaluate_cv=not args.no_cv, progress=log)
    if args.report:
        from core.io.files import atomic_write_text

        args.report.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.report, json.dumps(res, indent=1) + "\n")   # a replace is atomic
    cv = res.get("cv") or {}
    if cv:
        log(f"speaker-independent UAR (8 classes, 5 folds x 4 actors): "
            f"model {cv.get('uar8_full', cv.get('uar8_acoustic'))['mean']:.3f}, "
            f"acoustic-only {cv['uar8_acoustic']['mean']:.3f}, baseline {cv['uar8_baseline']['mean']:.3f}")
    log(f"wrote {res['weights']} in {res['seconds']:.0f} s")
    if args.json:
        print(json.dumps(res))
    return 0
