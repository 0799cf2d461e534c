"""Errors the user can act on, kept apart from bugs.

A ``UserInputError`` becomes exit code 2 in the CLI and a plain dialog in the
app: one sentence naming the file and what to do. Anything else is a bug and
is logged with its traceback.
"""

from __future__ import annotations

from pathlib import Path


class UserInputError(Exception):
    """Bad input the user can fix (wrong file, no face, silent audio...)."""

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None):
        self.path = str(path) if path is not None else None
        self.fix = fix
        self.detail = message
        text = f"{self.path}: {message}" if self.path else message
        if fix:
            text = f"{text} {fix}"
        super().__init__(text)


class Cancelled(Exception):
    """Long work was cancelled by the user; partial outputs are removed."""


class DiskFullError(UserInputError):
    """Writing failed because the disk is full."""
