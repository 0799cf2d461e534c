"""Errors as readable dialogs, never a crash.

A UserInputError is shown as its one-sentence message (file + fix). Anything
else is a bug: the traceback goes to the log file and the dialog names that
file. Dialogs are window-modal but opened without a nested event loop, so a
failing background job cannot stall the GUI. ``shown`` keeps the recent
messages for the status bar and the tests.
"""

from __future__ import annotations

import logging
import sys
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import Cancelled, UserInputError

log = logging.getLogger("synchrorama.app")
shown: list[str] = []
LOG_FILE = ""


def setup_logging() -> str:
    """Log to <user log dir>/studio.log; returns the path."""
    global LOG_FILE
    from core.paths import log_dir

    try:
        d = log_dir()
        d.mkdir(parents=True, exist_ok=True)
        LOG_FILE = str(d / "studio.log")
        handler = logging.FileHandler(LOG_FILE, encoding="utf-8")
    except OSError:
        LOG_FILE = "(no log file: the log directory is not writable)"
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # the studio's own loggers ("synchrorama.app") and the library's (core modules log
    # under their module names, "core.emotion.text"...) write to the same file
    for name in ("synchrorama", "core"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, type(handler)) for h in logger.handlers):
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return LOG_FILE


def message_for(exc: BaseException) -> str:
    if isinstance(exc, UserInputError):
        return str(exc)
    if isinstance(exc, Cancelled):
        return "Cancelled."
    if isinstance(exc, MemoryError):
        return "Out of memory. Close other programs or lower the resolution, then try again."
    return (f"Something went wrong inside SynchroRaMa Studio ({exc.__class__.__name__}: {exc}).\n\n"
            f"The details are in the log: {LOG_FILE or 'not set up'}")


def show_error(parent: QWidget | None, exc: BaseException, title: str = "SynchroRaMa Studio") -> QMessageBox:
    text = message_for(exc)
    shown.append(text)
    if not isinstance(exc, UserInputError):
        log.error("%s", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    box = QMessageBox(QMessageBox.Icon.Warning if isinstance(exc, UserInputError) else QMessageBox.Icon.Critical,
                      title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.open()
    return box


def install_excepthook(get_parent) -> None:
    """Uncaught exceptions in slots become a dialog instead of killing the app."""
    def hook(etype, value, tb):
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        log.error("uncaught: %s", "".join(traceback.format_exception(etype, value, tb)))
        try:
            show_error(get_parent(), value)
        except Exception:  # noqa: BLE001 - last resort
            sys.__excepthook__(etype, value, tb)

    sys.excepthook = hook
