"""The layer order of the code base, read from every import statement (issue 17).

A module may import its own layer and the layers below it, never one above.
Imports are read with ``ast`` from every module under core/ and app/,
including the lazy ones inside functions, ``TYPE_CHECKING`` blocks and
``importlib.import_module("...")`` calls with a literal name. The Qt rule
(no Qt under core/) is next door in test_architecture.py.

Layers, lowest first (a package's layer covers its sub-modules unless a more
specific entry names them):

 0 core (the package), core.errors, core.paths, core.progress
 1 core.io
 2 core.units, core.tracks, core.models, core.cache,  the values between stages, and edits
   core.edits                                           of them (split, stretch, keep user segments)
 3 core.face, core.speech                               the first stages
 4 core.emotion, core.scene
 5 core.motion, core.mouth_keys                        A2M: speech + emotion + scenes -> motion;
                                                        hand-set mouth keys on top of it
 6 core.render
 7 core.pipeline
 8 core.project, core.eval                              documents and measurement
 9 core.commands, core.cli                             the synchrorama subcommands (one module per
                                                        family, shared helpers in core.commands.common)
                                                        and the console script's entry point
10 app                                                  the studio

Every subcommand lives in core/commands/: a stage package holds no command
module, and one added there (core/scene/commands.py, say) is in its stage's
layer like any other module, so reaching up to the CLI or the pipeline fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("core", "app")

LAYERS: list[tuple[str, ...]] = [
    ("core", "core.errors", "core.paths", "core.progress"),
    ("core.io",),
    ("core.units", "core.tracks", "core.models", "core.cache", "core.edits"),
    ("core.face", "core.speech"),
    ("core.emotion", "core.scene"),
    ("core.motion", "core.mouth_keys", "core.model_cache"),   # model_cache asks face, speech, emotion, scene
    ("core.render",),
    ("core.pipeline",),
    ("core.project", "core.eval"),
    ("core.commands", "core.cli"),
    ("app",),
]


def layer_of(module: str) -> int | None:
    """The layer of a dotted module name (the most specific entry wins); None if unplaced.

    The entry "core" is the package's own __init__ only: a new module directly
    under core/ must be given its layer, not land in the lowest one.
    """
    best, best_len = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            covers = module == name or (name != "core" and module.startswith(name + "."))
            if covers and len(name) > best_len:
                best, best_len = i, len(name)
    return best


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _known_modules(root: Path) -> set[str]:
    return {module_name(p, root) for r in ROOTS for p in (root / r).rglob("*.py")}


def imported_modules(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import of a project module in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[str, int]] = []

    def add(name: str, line: int) -> None:
        if name.split(".")[0] in ROOTS and (name, line) not in out:
            out.append((name, line))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                # `from core.render import mesh` imports the module core.render.mesh
                sub = f"{target}.{alias.name}"
                add(sub if sub in known else target, node.lineno)
        elif isinstance(node, ast.Call) and node.args:
            fn = node.func
            fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            arg = node.args[0]
            if fname in ("import_module", "__import__") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str):
                add(arg.value, node.lineno)
    return out


def upward_imports(root: Path = REPO) -> tuple[list[str], list[str]]:
    """(imports that go up a layer, modules no layer covers) for the tree under ``root``."""
    known = _known_modules(root)
    upward, unplaced = [], []
    for r in ROOTS:
        for path in sorted((root / r).rglob("*.py")):
            mod = module_name(path, root)
            own = layer_of(mod)
            if own is None:
                unplaced.append(mod)
                continue
            src = path.read_text(encoding="utf-8")
            for target, line in imported_modules(src, mod, path.name == "__init__.py", known):
                theirs = layer_of(target)
                if theirs is None:
                    unplaced.append(target)
                elif theirs > own:
                    upward.append(f"{path.relative_to(root)}:{line} ({mod}, layer {own}) imports "
                                  f"{target} (layer {theirs})")
    return upward, sorted(set(unplaced))


def test_no_module_imports_a_higher_layer():
    upward, unplaced = upward_imports()
    assert not unplaced, f"modules no layer covers (add them to LAYERS): {unplaced}"
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_core_never_imports_the_studio():
    known = _known_modules(REPO)
    hits = []
    for path in (REPO / "core").rglob("*.py"):
        mod = module_name(path)
        for target, line in imported_modules(path.read_text(encoding="utf-8"), mod,
                                             path.name == "__init__.py", known):
            if target.split(".")[0] == "app":
                hits.append(f"{path.relative_to(REPO)}:{line}")
    assert not hits, hits


def test_every_layer_entry_names_a_real_module():
    """A renamed package must not leave a stale entry that covers nothing."""
    known = _known_modules(REPO)
    stale = [n for names in LAYERS for n in names
             if not any(k == n or k.startswith(n + ".") for k in known)]
    assert not stale, stale


@pytest.mark.parametrize("where, source, bad", [
    # top-level, lazy (inside a function), relative, from-import of a module, importlib
    ("core/io/x.py", "import core.pipeline\n", True),
    ("core/io/x.py", "def f():\n    from core.render.mesh import MeshRenderer\n", True),
    ("core/emotion/x.py", "def f():\n    if True:\n        from ..motion import head\n", True),
    ("core/tracks.py", "from core import pipeline\n", True),
    ("core/speech/x.py", "import importlib\nimportlib.import_module('core.cli')\n", True),
    ("core/render/x.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.window\n", True),
    ("core/scene/x.py", "from core.cli import main\n", True),
    # a command module back inside a stage package is that stage's module
    ("core/scene/commands.py", "from core.cli import main\n", True),
    ("core/render/diffusion/commands.py", "from core.commands.common import ProgressBar\n", True),
    ("core/eval/x.py", "import core.commands\n", True),
    # allowed: same layer, lower layers, the commands reaching the pipeline, project and eval
    ("core/motion/x.py", "from core.emotion.ser import SER\nfrom core.units import UNITS\n", False),
    ("core/scene/x.py", "from core.emotion import text\n", False),
    ("core/commands/scenes.py", "from core.commands.common import read_script\n"
                                "from core.pipeline import analyse\nfrom core.eval import evaluate\n", False),
    ("core/cli.py", "from core.commands import main\n", False),
    ("app/x.py", "from core.pipeline import analyse\n", False),
])
def test_the_check_sees_upward_imports(tmp_path, where, source, bad):
    """The checker itself on a scratch tree: each upward form is caught, the allowed ones pass."""
    for r in ROOTS:
        (tmp_path / r).mkdir()
    for mod in ("core/__init__.py", "core/pipeline.py", "core/cli.py", "core/units.py", "core/tracks.py",
                "core/commands/__init__.py", "core/commands/common.py", "core/eval/__init__.py",
                "core/io/__init__.py", "core/emotion/__init__.py", "core/emotion/ser.py",
                "core/emotion/text.py", "core/motion/__init__.py", "core/motion/head.py",
                "core/render/__init__.py", "core/render/mesh.py", "core/scene/__init__.py",
                "core/speech/__init__.py", "app/__init__.py", "app/window.py"):
        (tmp_path / mod).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / mod).write_text("")
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text(source)
    upward, unplaced = upward_imports(tmp_path)
    assert not unplaced
    assert bool(upward) == bad, upward


def test_a_new_module_directly_under_core_must_be_placed(tmp_path):
    for mod in ("core/__init__.py", "core/tracks.py", "core/newthing.py", "app/__init__.py"):
        (tmp_path / mod).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / mod).write_text("from core.tracks import MotionTrack\n" if "newthing" in mod else "")
    upward, unplaced = upward_imports(tmp_path)
    assert unplaced == ["core.newthing"] and not upward


def test_every_subcommand_lives_in_the_commands_package():
    """The parser's table names modules of core.commands only, and no stage keeps a commands.py."""
    import importlib

    from core.commands import COMMANDS, command_functions

    strays = [str(p.relative_to(REPO)) for p in (REPO / "core").rglob("commands.py")]
    assert not strays, strays
    for name in COMMANDS:   # a typo in the table would only show when the command runs
        mod, conf, run = command_functions(name)
        assert mod.startswith("core.commands."), (name, mod)
        module = importlib.import_module(mod)
        assert callable(getattr(module, conf)) and callable(getattr(module, run)), name
