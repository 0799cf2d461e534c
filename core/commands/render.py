"""``synchrorama render``: a talking-face video from a portrait and a narration, or from a project."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from core.commands.common import (EXIT_OK, ProgressBar, cancel_on_ctrl_c, parse_scene, read_script,
                                  script_file)
from core.errors import UserInputError


def configure_render(p: argparse.ArgumentParser) -> None:
    from core.render.base import renderer_names

    p.add_argument("--image", type=Path, help="portrait (default: the embedded sample)")
    p.add_argument("--audio", type=Path, help="narration audio or video (default: the sample)")
    p.add_argument("--script", help="the narration's text, or @FILE")
    p.add_argument("--emotion", default="auto", help="auto, or force: neutral, happy, sad, angry, "
                   "surprised, fearful, disgusted, contempt")
    p.add_argument("--emotion-strength", type=float, default=1.0)
    p.add_argument("--emotion-curve", help="keyframed emotion curves (JSON from the app)")
    p.add_argument("--scene", action="append", default=[], metavar="'START-END: text'",
                   help="a scene description segment (repeatable)")
    p.add_argument("--scenes", type=Path, help="scene segments file (JSON)")
    p.add_argument("--renderer", default="mesh", choices=renderer_names())
    p.add_argument("--avatar", help="diffusion avatar/model name (with --renderer diffusion)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="diffusion renderer: auto = a CUDA GPU; cpu only suits tiny avatars")
    p.add_argument("--sample-steps", type=int, help="diffusion renderer: denoising steps (default: the avatar's)")
    p.add_argument("--sampler", choices=["dpm++", "ddim"], help="diffusion renderer: sampler (default: the avatar's)")
    p.add_argument("--emotion-guidance", type=float, help="diffusion renderer: emotion guidance scale (1 = none)")
    p.add_argument("--text-guidance", type=float, help="diffusion renderer: scene-text guidance scale (1 = none)")
    p.add_argument("--size", type=int, default=512, help="face-crop render resolution (px)")
    p.add_argument("--max-output", type=int, default=0,
                   help="cap the output's long side (default: the portrait's full size)")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--crf", type=int, default=18, help="x264 quality (lower is better)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--head-motion", type=float, default=1.0, metavar="AMOUNT",
                   help="head motion from the voice: 0 = still, 1 = natural (a real speaker's spread), "
                        "up to 2 = lively")
    p.add_argument("--expressiveness", type=float, default=1.0, metavar="X",
                   help="one knob over emotion strength and head motion, like the studio's "
                        "(0 = still and neutral, 1 = as analysed, up to 2)")
    p.add_argument("--blink-rate", type=float, default=17.0, metavar="PER_MIN",
                   help="blinks per minute (default 17; real speakers blink 10-25; 0 = never)")
    p.add_argument("--face", type=int, help="which face when there are several (0 = largest)")
    p.add_argument("--save-tracks", type=Path, help="write every intermediate track as JSON")
    p.add_argument("--load-tracks", type=Path, help="render from saved tracks without re-analysing")
    p.add_argument("--allow-other-audio", action="store_true",
                   help="with --load-tracks: render over a narration the tracks were not analysed from")
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached analysis")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    p.add_argument("-o", "--output", type=Path, default=Path("out/sample.mp4"))
    from core.io.checks import add_overwrite_flag

    add_overwrite_flag(p, "the video (and the --save-tracks file)")
    p.add_argument("--project", type=Path, metavar="FILE",
                   help="render a SynchroRaMa Studio project exactly as the app shows it (its media, "
                        "curves, scenes and export settings; -o overrides its output)")


def _load_scene_file(path: Path):
    from core.io.files import read_user_text
    from core.tracks import SceneTrack

    try:
        data = json.loads(read_user_text(path, "scenes file", "Give the scenes .json file."))
    except (ValueError, UnicodeDecodeError):
        raise UserInputError("scenes file is not valid JSON.", path,
                             'Use {"segments": [{"start": 0, "end": 2, "text": "..."}]}.') from None
    shape = 'Use {"segments": [{"start": 0, "end": 2, "text": "..."}]}.'
    segments = data.get("segments", []) if isinstance(data, dict) else data
    if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
        raise UserInputError("scenes file has unexpected fields.", path, shape)
    for i, seg in enumerate(segments):  # types first: a string time would surface as an internal error
        for key, kinds, what in (("start", (int, float), "a number of seconds"),
                                 ("end", (int, float), "a number of seconds"), ("text", (str,), "text")):
            v = seg.get(key)
            if isinstance(v, bool) or not isinstance(v, kinds):
                raise UserInputError(f"scene {i + 1}'s {key} is {v!r}, not {what}.", path, shape)
            if isinstance(v, float) and not math.isfinite(v):
                raise UserInputError(f"scene {i + 1}'s {key} is {v!r}, not a finite number of seconds.", path, shape)
    try:
        return SceneTrack.from_dict({"segments": segments}).segments
    except TypeError:
        raise UserInputError("scenes file has unexpected fields.", path, shape) from None


def run_render(args: argparse.Namespace) -> int:
    from core.io.checks import check_export_settings, check_output
    from core.pipeline import RenderRequest, render

    if getattr(args, "project", None) is not None:
        return _run_project(args)

    scenes = [parse_scene(s) for s in args.scene]
    if args.scenes:
        scenes += _load_scene_file(args.scenes)
    from core.scene.track import validate_segments

    scenes = validate_segments(scenes, None)  # overlaps fail before any analysis
    if args.emotion_curve:
        from core.emotion.curves import load_curves

        load_curves(args.emotion_curve)  # a bad curve file fails now, not after minutes of analysis
    check_export_settings(fps=args.fps, size=args.size, crf=args.crf, max_output=args.max_output)
    from core.emotion.control import MAX_STRENGTH, check_emotion_name
    from core.io.checks import check_seed, check_strength

    check_emotion_name(args.emotion)
    check_seed(args.seed)
    check_strength(args.emotion_strength, MAX_STRENGTH)
    if args.output.suffix.lower() != ".mp4":
        raise UserInputError("the output must be an .mp4 file.", args.output, "Name it OUT.mp4.")
    _check_motion_options(args)
    inputs = {"--image": args.image, "--audio": args.audio, "--script": script_file(args.script),
              "--scenes": args.scenes, "--emotion-curve": args.emotion_curve, "--load-tracks": args.load_tracks}
    check_output(args.output, {**inputs, "--save-tracks": args.save_tracks})
    if args.save_tracks is not None:
        check_output(args.save_tracks, inputs, "--save-tracks", "tracks file", "tracks.json")
    from core.io.checks import check_not_existing

    check_not_existing(args.output, args.overwrite, "-o")   # nothing of the user's is replaced unasked
    if args.save_tracks is not None:
        check_not_existing(args.save_tracks, args.overwrite, "--save-tracks")
    from core.io.checks import check_room_for_video
    from core.pipeline import sample_paths

    image, audio = (args.image, args.audio) if args.image or args.audio else sample_paths()[:2]
    check_room_for_video(args.output, image=image, audio=audio, fps=args.fps, crf=args.crf,
                         max_output=args.max_output)   # a disk that clearly cannot hold the video: now
    # every renderer gets the device and seed; the rest only when given, and a
    # setting the chosen renderer does not have is refused by make_renderer
    options: dict = {"device": args.device, "seed": args.seed}
    for key, value in (("avatar", args.avatar), ("steps", args.sample_steps), ("sampler", args.sampler),
                       ("emotion_scale", args.emotion_guidance), ("text_scale", args.text_guidance)):
        if value is not None:
            options[key] = value
    from core.project import with_expressiveness

    strength, head_motion = with_expressiveness(args.emotion_strength, args.head_motion, args.expressiveness)
    req = RenderRequest(
        image=args.image, audio=args.audio, script=read_script(args.script), output=args.output,
        emotion=args.emotion, emotion_strength=strength,
        emotion_curve=args.emotion_curve, scenes=scenes, renderer=args.renderer,
        renderer_options=options, size=args.size, fps=args.fps, seed=args.seed, face=args.face,
        head_motion=head_motion, blink_rate=args.blink_rate,
        max_output=args.max_output, crf=args.crf, save_tracks=args.save_tracks,
        load_tracks=args.load_tracks, use_cache=not args.no_cache, allow_other_audio=args.allow_other_audio,
    )
    if args.allow_other_audio and args.load_tracks is None:
        raise UserInputError("--allow-other-audio only applies with --load-tracks.", None,
                             "Drop it, or add --load-tracks FILE.")
    bar = ProgressBar()
    with cancel_on_ctrl_c(bar) as cancel:
        t0 = time.perf_counter()
        result = render(req, progress=bar, cancel=cancel)
    _report(result, args, t0)
    return EXIT_OK


def _report(result, args: argparse.Namespace, t0: float, source: str = "") -> None:
    """The render's notes and one 'wrote' line on stderr; with --json the summary on stdout."""
    for w in result.warnings:
        print(f"note: {w}", file=sys.stderr)
    print(f"wrote {result.output} ({result.frames} frames, {result.duration:.1f} s, "
          f"{result.width}x{result.height}) {source}in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.__dict__, "seconds": round(time.perf_counter() - t0, 3)}))


def _check_motion_options(args: argparse.Namespace) -> None:
    """--head-motion and --blink-rate ranges, named as the user typed them."""
    from core.motion.a2m import BLINK_RATE_RANGE, HEAD_MOTION_RANGE

    lo, hi = HEAD_MOTION_RANGE
    if not lo <= args.head_motion <= hi:
        raise UserInputError(f"--head-motion {args.head_motion:g} is out of range.", None,
                             f"Use {lo:g}..{hi:g} (0 = still, 1 = natural, 2 = lively).")
    from core.project import MAX_EXPRESSIVENESS

    if not (0 <= args.expressiveness <= MAX_EXPRESSIVENESS):   # NaN fails too
        raise UserInputError(f"--expressiveness {args.expressiveness:g} is out of range.", None,
                             f"Use 0..{MAX_EXPRESSIVENESS:g} (1 = as analysed).")
    lo, hi = BLINK_RATE_RANGE
    if not lo <= args.blink_rate <= hi:
        raise UserInputError(f"--blink-rate {args.blink_rate:g} is out of range.", None,
                             f"Use {lo:g}..{hi:g} blinks per minute (real speakers blink 10-25).")


# render options a project holds itself: given with --project they are refused
PROJECT_HOLDS = ("image", "audio", "script", "emotion", "emotion_strength", "emotion_curve", "scene", "scenes",
                 "renderer", "avatar", "size", "max_output", "fps", "crf", "seed", "face", "head_motion",
                 "expressiveness",
                 "blink_rate", "save_tracks", "load_tracks", "allow_other_audio", "sample_steps", "sampler",
                 "emotion_guidance", "text_guidance")


def _run_project(args: argparse.Namespace) -> int:
    """``render --project FILE``: core.project's analysis + the app's edits + its export settings."""
    from core.project import analyse_project, check_project_export, load_project, render_project

    fresh = argparse.ArgumentParser()
    configure_render(fresh)
    defaults = fresh.parse_args([])
    clash = [f"--{k.replace('_', '-')}" for k in PROJECT_HOLDS if getattr(args, k) != getattr(defaults, k)]
    if clash:
        raise UserInputError(f"{', '.join(clash)} cannot be combined with --project.", args.project,
                             "The project holds these settings: change them in SynchroRaMa Studio.")
    project = load_project(args.project)
    given = args.output != defaults.output
    output = check_project_export(project, args.output if given else None, "-o" if given else None)
    from core.io.checks import check_not_existing

    check_not_existing(output, args.overwrite, "-o")   # the project's export path too: -o picks another
    bar = ProgressBar()
    with cancel_on_ctrl_c(bar) as cancel:
        t0 = time.perf_counter()
        analysis = analyse_project(project, use_cache=not args.no_cache, progress=bar, cancel=cancel)
        result = render_project(project, analysis, output, device=args.device, progress=bar, cancel=cancel)
    _report(result, args, t0, source=f"from {args.project} ")
    return EXIT_OK
