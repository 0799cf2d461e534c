"""House rules that keep the library usable without the GUI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy")


def test_no_qt_import_anywhere_in_core():
    offenders = []
    for path in (REPO / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in QT_MODULES for n in names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, f"Qt imported under core/: {offenders}"


def test_every_core_module_imports_with_qt_blocked():
    """Import all of core/ in a fresh interpreter where Qt cannot load."""
    code = r"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in %r:
            raise ImportError('Qt is blocked in this test: ' + name)
sys.meta_path.insert(0, Block())
import core
failed = []
for m in pkgutil.walk_packages(core.__path__, 'core.'):
    try:
        importlib.import_module(m.name)
    except ImportError as e:
        if 'Qt is blocked' in str(e):
            failed.append((m.name, str(e)))
print(failed)
sys.exit(1 if failed else 0)
""" % (QT_MODULES,)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def test_cli_start_does_not_load_heavy_modules():
    """`synchrorama render --help` must not import torch, transformers or diffusers."""
    code = ("import sys; from core.cli import build_parser; build_parser(only='render'); "
            "print([m for m in ('torch', 'transformers', 'diffusers', 'librosa') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr
