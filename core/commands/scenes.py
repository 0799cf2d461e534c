"""``synchrorama suggest-scenes``: scene lines for a narration, ready for --scenes.

Runs the audio analysis, alignment and emotion (no portrait, no render),
then the chosen writer. Prints one "START-END: text" line per segment (the
same form ``render --scene`` takes), or with --json the ``{"segments": [...]}``
document ``render --scenes FILE`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.commands.common import read_script, script_file
from core.errors import UserInputError


def configure_suggest_scenes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", type=Path, required=True, help="narration audio (or a video's audio)")
    p.add_argument("--script", help="the narration's text, or @FILE")
    p.add_argument("--backend", default="auto", choices=["auto", "openai", "gemma", "rules"],
                   help="who writes: a local OpenAI-compatible server, the bundled Gemma, or rules "
                        "(auto tries them in that order)")
    p.add_argument("--url", default=None, help="OpenAI-compatible endpoint (default http://127.0.0.1:11434/v1)")
    p.add_argument("--model", default="", help="model name on that server (default: the first it lists)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a server that is not on this machine (your script is sent to it)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each answer")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("-o", "--output", type=Path, help="also write the segments JSON here (for --scenes)")
    p.add_argument("--json", action="store_true", help="print the segments JSON on stdout")
    from core.io.checks import add_overwrite_flag

    add_overwrite_flag(p, "the -o file")


def run_suggest_scenes(args: argparse.Namespace) -> int:
    from core.io.audio import load_audio
    from core.pipeline import n_frames_for
    from core.progress import CancelToken
    from core.scene.backends import DEFAULT_URL, BackendConfig
    from core.scene.suggest import suggest_report
    from core.speech.features import analyse_audio

    if not args.audio.exists():
        raise UserInputError("audio file not found.", args.audio, "Check the path.")
    if not 1.0 <= args.timeout <= 600:
        raise UserInputError(f"--timeout {args.timeout} is out of range.", None, "Use 1..600 seconds.")
    if not 1 <= args.fps <= 120:
        raise UserInputError(f"--fps {args.fps} is out of range.", None, "Use 1..120 (25 is typical).")
    script = read_script(args.script)
    if args.output is not None:   # before any analysis: writable, not an input, not the user's file
        from core.io.checks import check_not_existing, check_output

        check_output(args.output, {"--audio": args.audio, "--script": script_file(args.script)}, "-o", "scenes file",
                     "scenes.json")
        check_not_existing(args.output, args.overwrite, "-o")
    config = BackendConfig(kind=args.backend, url=args.url or DEFAULT_URL, model=args.model,
                           allow_remote=args.allow_remote, timeout=args.timeout)
    if args.backend in ("openai", "auto") and args.url:
        from core.scene.backends import check_url

        check_url(args.url, args.allow_remote)  # bad URL / remote host: exit 2 before any analysis
    cancel = CancelToken()
    t0 = time.perf_counter()
    audio = load_audio(args.audio)
    feats = analyse_audio(audio.samples, audio.sample_rate, cancel=cancel)
    n = n_frames_for(audio.duration, args.fps)
    from core.speech.timing import speech_timing

    alignment = speech_timing(audio, script, cancel=cancel)
    emotion = None
    try:
        from core.emotion.fusion import analyse_emotion
    except ImportError:
        analyse_emotion = None
    if analyse_emotion is not None:
        emotion = analyse_emotion(audio, feats, alignment, args.fps, n, cancel=cancel)
    t_analysis = time.perf_counter() - t0
    report = suggest_report(script or alignment.script, alignment, emotion, audio.duration, config,
                            cancel=cancel)
    doc = {"segments": [s.__dict__ for s in report.segments]}
    if args.output:
        from core.io.files import atomic_write_text

        atomic_write_text(args.output, json.dumps(doc, indent=1))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{len(report.segments)} segments by {report.backend} in {sum(report.seconds_per_segment):.2f} s "
          f"(analysis {t_analysis:.1f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps({**doc, "backend": report.backend, "notes": report.notes,
                          "seconds_per_segment": report.seconds_per_segment}))
    else:
        for s in report.segments:
            print(f"{s.start:.2f}-{s.end:.2f}: {s.text}")
    return 0
