"""The ``synchrorama`` subcommands: the parser, the table of commands and ``main``.

One module per family of subcommands (``render``, ``emotion``: analyze and
train-ser, ``evaluate``: eval, ``scenes``: suggest-scenes, ``diffusion``:
train-avatar and train, ``models``, ``mouth``: train-mouth), each command a
``configure_<command>``/``run_<command>`` pair; what they share is in ``common``. A command's
module is imported only when that command runs, so ``synchrorama render``
starts without loading torch or the eval models. The console script is
``core.cli:main`` (also ``python -m core.cli``).

Exit codes: 0 ok, 1 internal error (log path printed), 2 bad input,
130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
import traceback
from pathlib import Path

from core import __version__
from core.commands.common import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_ERROR
from core.errors import Cancelled, UserInputError

# subcommand -> (its module under core.commands, help), in the order --help lists them; the module
# has configure_<command> (its arguments) and run_<command> (exit code), "-" written "_"
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("render", "render a talking-face video"),
    "analyze": ("emotion", "analyse a narration's emotion (SER, text, prosody)"),
    "train-ser": ("emotion", "train the speech-emotion model"),
    "eval": ("evaluate", "measure lip-sync, identity, expression and motion of a video"),
    "suggest-scenes": ("scenes", "suggest scene descriptions for a narration"),
    "train-avatar": ("diffusion", "train a diffusion avatar on your own talking footage"),
    "train": ("diffusion", "train a general diffusion model on a dataset folder"),
    "models": ("models", "list installed models"),
    "train-mouth": ("mouth", "train the acoustic (no-words) mouth model"),
}


def command_functions(name: str) -> tuple[str, str, str]:
    """(module, configure function, run function) of a subcommand."""
    module, _help = COMMANDS[name]
    fn = name.replace("-", "_")
    return f"{__name__}.{module}", f"configure_{fn}", f"run_{fn}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synchrorama", description="SynchroRaMa Studio command line")
    parser.add_argument("--version", action="version", version=f"synchrorama {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_)
        if only is not None and name != only:
            continue  # configure only the command being run: keeps start-up light
        module, conf, run = command_functions(name)
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
