"""The ``synchrorama`` command line.

``render`` lives here; other subcommands are provided by their feature
modules (``configure_*``/``run_*`` pairs) and imported only when used, so
``synchrorama render`` starts without loading torch or the eval models.
Exit codes: 0 ok, 1 internal error (log path printed), 2 bad input,
130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import re
import signal
import sys
import time
import traceback
from pathlib import Path

from core import __version__
from core.errors import Cancelled, UserInputError

# subcommand -> (module, configure function, run function, help)
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "analyze": ("core.emotion.commands", "configure_analyze", "run_analyze",
                "analyse a narration's emotion (SER, text, prosody)"),
    "train-ser": ("core.emotion.commands", "configure_train_ser", "run_train_ser",
                  "train the speech-emotion model"),
    "eval": ("core.eval.commands", "configure_eval", "run_eval",
             "measure lip-sync, identity, expression and motion of a video"),
    "suggest-scenes": ("core.scene.commands", "configure_suggest", "run_suggest",
                       "suggest scene descriptions for a narration"),
    "train-avatar": ("core.render.diffusion.commands", "configure_train_avatar", "run_train_avatar",
                     "train a diffusion avatar on your own talking footage"),
    "train": ("core.render.diffusion.commands", "configure_train", "run_train",
              "train a general diffusion model on a dataset folder"),
    "models": ("core.models", "configure_models", "run_models", "list installed models"),
    "train-mouth": ("core.motion.acoustic_train", "configure", "run",
                    "train the acoustic (no-words) mouth model"),
}

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
log = logging.getLogger(__name__)


def parse_time(text: str) -> float:
    """Seconds from '12.5', '1:02', '01:02.5' or '1:02:03.5'; ValueError for anything else."""
    parts = text.strip().split(":")
    if len(parts) > 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts) \
            or any("." in p for p in parts[:-1]) or any(float(p) >= 60 for p in parts[1:]):
        raise ValueError(f"not a time: {text!r}")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return seconds


def parse_scene(spec: str):
    """'START-END: text' -> SceneSegment (times in seconds or mm:ss)."""
    from core.tracks import SceneSegment

    m = re.match(r"^\s*([\d:.]+)\s*-\s*([\d:.]+)\s*:\s*(.+)$", spec)
    if not m:
        raise UserInputError(f"cannot read scene '{spec}'.", None,
                             "Write it as START-END: text, e.g. \"0-3.5: smiles and nods\".")
    try:
        start, end = parse_time(m.group(1)), parse_time(m.group(2))
    except ValueError:
        raise UserInputError(f"cannot read the times of scene '{spec}'.", None,
                             "Write times as seconds (12.5), m:ss (1:02.5) or h:mm:ss, e.g. \"1:05-1:09: nods\".") from None
    if end <= start:
        raise UserInputError(f"scene '{spec}' ends before it starts.", None, "Swap the times.")
    return SceneSegment(start=start, end=end, text=m.group(3).strip(), source="user")


def read_script(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise UserInputError("script file not found.", path, "Check the path.") from None
        except IsADirectoryError:
            raise UserInputError("is a folder, not a script file.", path,
                                 "Give the narration's text file after @, e.g. --script @narration.txt.") from None
        except UnicodeDecodeError:
            raise UserInputError("script is not UTF-8 text.", path, "Save it as UTF-8 text.") from None
        except OSError as exc:
            raise UserInputError(f"cannot read the script file ({exc.strerror or exc}).", path,
                                 "Check the file's permissions.") from None
    return value.strip()


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
    from core.tracks import SceneTrack

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError("scenes file not found.", path, "Check the path.") from None
    except IsADirectoryError:
        raise UserInputError("is a folder, not a scenes file.", path, "Give the scenes .json file.") from None
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
    from core.progress import CancelToken

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
    from core.emotion.control import MAX_STRENGTH
    from core.io.checks import check_seed, check_strength

    check_seed(args.seed)
    check_strength(args.emotion_strength, MAX_STRENGTH)
    if args.output.suffix.lower() != ".mp4":
        raise UserInputError("the output must be an .mp4 file.", args.output, "Name it OUT.mp4.")
    _check_motion_options(args)
    script_file = Path(args.script[1:]) if args.script and args.script.startswith("@") else None
    inputs = {"--image": args.image, "--audio": args.audio, "--script": script_file, "--scenes": args.scenes,
              "--emotion-curve": args.emotion_curve, "--load-tracks": args.load_tracks}
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
    req = RenderRequest(
        image=args.image, audio=args.audio, script=read_script(args.script), output=args.output,
        emotion=args.emotion, emotion_strength=args.emotion_strength,
        emotion_curve=args.emotion_curve, scenes=scenes, renderer=args.renderer,
        renderer_options=options, size=args.size, fps=args.fps, seed=args.seed, face=args.face,
        head_motion=args.head_motion, blink_rate=args.blink_rate,
        max_output=args.max_output, crf=args.crf, save_tracks=args.save_tracks,
        load_tracks=args.load_tracks, use_cache=not args.no_cache, allow_other_audio=args.allow_other_audio,
    )
    if args.allow_other_audio and args.load_tracks is None:
        raise UserInputError("--allow-other-audio only applies with --load-tracks.", None,
                             "Drop it, or add --load-tracks FILE.")
    cancel = CancelToken()
    bar = ProgressBar()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    t0 = time.perf_counter()
    try:
        result = render(req, progress=bar, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    for w in result.warnings:
        print(f"note: {w}", file=sys.stderr)
    print(f"wrote {result.output} ({result.frames} frames, {result.duration:.1f} s, "
          f"{result.width}x{result.height}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.__dict__, "seconds": round(time.perf_counter() - t0, 3)}))
    return EXIT_OK


def _check_motion_options(args: argparse.Namespace) -> None:
    """--head-motion and --blink-rate ranges, named as the user typed them."""
    from core.motion.a2m import BLINK_RATE_RANGE, HEAD_MOTION_RANGE

    lo, hi = HEAD_MOTION_RANGE
    if not lo <= args.head_motion <= hi:
        raise UserInputError(f"--head-motion {args.head_motion:g} is out of range.", None,
                             f"Use {lo:g}..{hi:g} (0 = still, 1 = natural, 2 = lively).")
    lo, hi = BLINK_RATE_RANGE
    if not lo <= args.blink_rate <= hi:
        raise UserInputError(f"--blink-rate {args.blink_rate:g} is out of range.", None,
                             f"Use {lo:g}..{hi:g} blinks per minute (real speakers blink 10-25).")


def _run_project(args: argparse.Namespace) -> int:
    """``render --project FILE``: core.project's analysis + the app's edits + its export settings."""
    from core.progress import CancelToken
    from core.project import analyse_project, check_project_export, load_project, render_project

    fresh = argparse.ArgumentParser()
    configure_render(fresh)
    defaults = fresh.parse_args([])
    clash = [f"--{k.replace('_', '-')}" for k in ("image", "audio", "script", "emotion", "emotion_strength",
                                                  "emotion_curve", "scene", "scenes", "renderer", "avatar",
                                                  "size", "max_output", "fps", "crf", "seed", "face",
                                                  "head_motion", "blink_rate",
                                                  "save_tracks", "load_tracks", "allow_other_audio",
                                                  "sample_steps", "sampler",
                                                  "emotion_guidance", "text_guidance")
             if getattr(args, k) != getattr(defaults, k)]
    if clash:
        raise UserInputError(f"{', '.join(clash)} cannot be combined with --project.", args.project,
                             "The project holds these settings: change them in SynchroRaMa Studio.")
    project = load_project(args.project)
    given = args.output != defaults.output
    output = check_project_export(project, args.output if given else None, "-o" if given else None)
    from core.io.checks import check_not_existing

    check_not_existing(output, args.overwrite, "-o")   # the project's export path too: -o picks another
    cancel = CancelToken()
    bar = ProgressBar()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    t0 = time.perf_counter()
    try:
        analysis = analyse_project(project, use_cache=not args.no_cache, progress=bar, cancel=cancel)
        result = render_project(project, analysis, output, device=args.device, progress=bar, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    for w in result.warnings:
        print(f"note: {w}", file=sys.stderr)
    print(f"wrote {result.output} ({result.frames} frames, {result.duration:.1f} s, "
          f"{result.width}x{result.height}) from {args.project} in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    if args.json:
        print(json.dumps({**result.__dict__, "seconds": round(time.perf_counter() - t0, 3)}))
    return EXIT_OK


class ProgressBar:
    """One stderr line per stage: a bar on a terminal, sparse lines otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.stage = None
        self.t_stage = time.perf_counter()
        self.last = 0.0
        self.last_pct = -1

    def __call__(self, stage: str, done: float, total: float) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            if self.stage is not None and self.tty:
                self.stream.write("\n")
            self.stage, self.t_stage, self.last_pct = stage, now, -1
        frac = min(1.0, done / total) if total else 1.0
        pct = int(frac * 100)
        if self.tty:
            if now - self.last < 0.1 and frac < 1:
                return
            eta = (now - self.t_stage) / frac * (1 - frac) if frac > 0 else 0
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            self.stream.write(f"\r{stage:<16} [{bar}] {pct:3d}%  ETA {eta:5.1f}s")
        elif pct // 10 != self.last_pct // 10 or frac >= 1 and self.last_pct < 100:
            self.stream.write(f"{stage}: {pct}%\n")
        self.last_pct, self.last = pct, now
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synchrorama", description="SynchroRaMa Studio command line")
    parser.add_argument("--version", action="version", version=f"synchrorama {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("render", help="render a talking-face video")
    configure_render(p)
    p.set_defaults(_run=run_render)
    for name, (module, conf, run, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_)
        if only is not None and name != only:
            continue  # configure only the command being run: keeps start-up light
        try:
            mod = importlib.import_module(module)
            getattr(mod, conf)(sp)
            sp.set_defaults(_run=getattr(mod, run))
        except (ImportError, AttributeError) as exc:
            sp.set_defaults(_run=_broken(name, exc))
    return parser


def _broken(name: str, exc: BaseException):
    """A command whose module failed to load: running it is an internal error (exit 1, logged with
    the real cause), never a quiet "not available" that hides a damaged install."""
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError(f"the '{name}' command could not be loaded: {exc!r}") from exc
    return run


def _log_file() -> Path:
    from core.paths import log_dir

    d = log_dir()
    d.mkdir(parents=True, exist_ok=True)
    return d / "synchrorama.log"


def _core_log_to_file() -> None:
    """Core modules' log records go to the log file (opened at the first record), not the terminal.

    Whatever a user must see is printed as a note; the log keeps the details.
    Without a writable log folder Python's last-resort handler prints warnings on stderr.
    """
    core_log = logging.getLogger("core")
    try:
        path = str(_log_file())
    except OSError:
        return
    if not any(getattr(h, "baseFilename", None) == path for h in core_log.handlers):
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        core_log.addHandler(handler)
    core_log.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    _core_log_to_file()
    try:
        if isinstance(getattr(args, "fps", None), float):
            from core.io.checks import check_fps

            check_fps(args.fps)  # every subcommand's --fps, before its run divides by it
        return int(args._run(args) or 0)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (Cancelled, KeyboardInterrupt):
        print("cancelled: nothing was written.", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception:  # noqa: BLE001 - last line of defence: log, point at the log
        path = _log_file()
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} synchrorama {' '.join(argv)}\n")
            f.write(traceback.format_exc())
        print(f"internal error: {traceback.format_exc().strip().splitlines()[-1]}\n"
              f"details were written to {path}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
