"""Warnings in the frozen bundle's smoke render: the expected ones pass, any other fails.

A bundle that misses an optional package or a data file can still render a
video (a degraded path says so as a warning: a CLI ``note:``, an entry in
``--json``'s ``warnings``, a WARNING record in the core log), so "a video was
written" is not enough. ``installer/smoke_test.sh`` runs this on the render's
JSON summary, its stderr and the log files under the smoke run's
SYNCHRORAMA_HOME; it exits 1 listing every warning not in ``EXPECTED``.

Standard library only: it runs with whatever Python builds the installer.
Usage: python installer/smoke_warnings.py RENDER.json RENDER.log [LOG...]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# The warnings the embedded sample's render gives on a complete install, and why.
EXPECTED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"pronounced from spelling \(not in the dictionary\): synchrorama"),
     "the sample script says the product's name, which no pronunciation dictionary has"),
]

# Lines of stderr or a log that are warnings: our notes, logging records at WARNING or
# above, and Python's warnings module ("...: UserWarning: ...").
_NOTE = re.compile(r"^(?:note|warning):\s*(?P<msg>.+)$", re.IGNORECASE)
_RECORD = re.compile(r"\b(?:WARNING|ERROR|CRITICAL)\s+[\w.]+:\s*(?P<msg>.+)$")
_PYWARN = re.compile(r"\b(?P<msg>\w*Warning:\s*.+)$")


def warnings_in_text(text: str) -> list[str]:
    """Warning messages in stderr or log text (progress lines and the rest are not)."""
    out = []
    for line in text.replace("\r", "\n").splitlines():
        line = line.strip()
        for pattern in (_NOTE, _RECORD, _PYWARN):
            m = pattern.search(line)
            if m:
                out.append(m.group("msg").strip())
                break
    return out


def warnings_in_summary(text: str) -> list[str]:
    """The ``warnings`` list of a ``render --json`` summary (its last non-empty line)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError("no JSON summary")
    doc = json.loads(lines[-1])
    warnings = doc.get("warnings")
    if not isinstance(warnings, list):
        raise ValueError("the JSON summary has no warnings list")
    return [str(w) for w in warnings]


def is_expected(message: str) -> bool:
    # a core log record of a note carries the same text: compare on the message itself
    return any(p.search(message) for p, _ in EXPECTED)


def unexpected(messages: list[str]) -> list[str]:
    """The messages no EXPECTED pattern explains, each once, in order."""
    return [m for m in dict.fromkeys(messages) if not is_expected(m)]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    summary, *texts = (Path(a) for a in argv)
    try:
        messages = warnings_in_summary(summary.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as exc:
        print(f"cannot read the render's JSON summary {summary}: {exc}", file=sys.stderr)
        return 1
    for p in texts:
        messages += warnings_in_text(p.read_text(encoding="utf-8", errors="replace"))
    bad = unexpected(messages)
    for m in bad:
        print(f"unexpected warning: {m}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
