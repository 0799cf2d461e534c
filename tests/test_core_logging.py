"""Core modules log under their own names, and those records reach the log files (issue 17).

The studio attaches its studio.log handler to the "core" logger (tests/app/test_core_notes.py
checks a real core warning lands there); the CLI sends core's records to its synchrorama.log
instead of the terminal (tests/emotion/test_nrc_missing.py).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def logger_names_in(source: str) -> list[str]:
    """The argument of every logging.getLogger(...) / getLogger(...) call, as source text."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "getLogger":
                out.append(ast.unparse(node.args[0]) if node.args else "")
    return out


def test_core_modules_log_under_their_module_name():
    """A logger named anything else ("synchrorama", "") would not be a child of "core"."""
    bad = []
    for path in (REPO / "core").rglob("*.py"):
        for arg in logger_names_in(path.read_text(encoding="utf-8")):
            if arg != "__name__" and not (path.relative_to(REPO).as_posix() == "core/commands/__init__.py"
                                          and arg == "'core'"):   # the CLI attaches its handler there
                bad.append(f"{path.relative_to(REPO)}: getLogger({arg})")
    assert not bad, bad


def test_the_check_sees_other_logger_names():
    assert logger_names_in("import logging\nlog = logging.getLogger('synchrorama')\n") == ["'synchrorama'"]
    assert logger_names_in("from logging import getLogger\ndef f():\n    getLogger()\n") == [""]
    assert logger_names_in("log = logging.getLogger(__name__)\n") == ["__name__"]


def test_cli_core_warning_goes_to_the_log_file_not_the_terminal(tmp_path):
    code = ("import logging, sys\n"
            "import core.commands as c\n"
            "c._core_log_to_file()\n"
            "logging.getLogger('core.render.diffusion.renderer').warning('probe-17 from core')\n")
    env = dict(os.environ, SYNCHRORAMA_HOME=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "probe-17" not in res.stderr
    logs = "".join(p.read_text() for p in tmp_path.rglob("synchrorama.log"))
    assert "WARNING core.render.diffusion.renderer: probe-17 from core" in logs
