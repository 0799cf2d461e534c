"""A damaged install is an error, never a quiet "not available" (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_no_stub_era_fallback_text_in_the_code():
    hits = []
    for folder in ("core", "app", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "in this build yet" in text or "not available in this build" in text:
                hits.append(str(path.relative_to(REPO)))
    assert not hits, hits


def test_a_command_whose_module_is_broken_exits_1_with_the_log_path(tmp_path):
    """A subcommand module that cannot be imported is an internal error naming the cause and the log."""
    code = (
        "import sys, core.commands as c\n"
        "c.COMMANDS['analyze'] = ('no_such_module', 'x')\n"
        "sys.exit(c.main(['analyze']))\n"
    )
    env = {"SYNCHRORAMA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "log" in res.stderr.lower() and "Traceback" not in res.stderr
    logs = list(tmp_path.rglob("*.log"))
    assert logs and "no_such_module" in "".join(p.read_text() for p in logs)
