"""Entry point: ``synchrorama-studio [--open PROJECT | --sample] [--screenshot PNG]``."""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="synchrorama-studio", description="SynchroRaMa Studio desktop app")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--open", metavar="PROJECT", help="open a project file")
    g.add_argument("--sample", action="store_true", help="start a new project from the embedded sample")
    p.add_argument("--screenshot", metavar="PNG", help="wait until everything is analysed and drawn, "
                   "save a screenshot of the window and exit")
    p.add_argument("--size", default=None, help="window size WxH (default 1440x900, or the screen's free "
                   "area when that is smaller)")
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for --screenshot")
    p.add_argument("--view", metavar="START-END", default=None,
                   help="seconds of the narration the timeline and curves show in a --screenshot (default: all)")
    p.add_argument("--tab", choices=("scenes", "motion", "export"), default=None,
                   help="open the right panel on this tab (for screenshots)")
    return p.parse_args(argv)


DEFAULT_SIZE = (1440, 900)


def window_size(size: str | None, screen) -> tuple[int, int]:
    """--size as given, else 1440x900 cut to the screen's free area: on a 1024x640 screen the window
    (and a --screenshot of it) is no larger than the screen."""
    if size:
        w, h = (int(x) for x in size.lower().split("x"))
        return w, h
    w, h = DEFAULT_SIZE
    if screen is not None:
        free = screen.availableGeometry()
        if free.width() > 0 and free.height() > 0:
            w, h = min(w, free.width()), min(h, free.height())
    return w, h


def main(argv=None) -> int:
    args = parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.errors import install_excepthook, setup_logging
    from app.window import MainWindow

    setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SynchroRaMa Studio")
    shot = args.screenshot
    win = MainWindow(ask=not shot)
    install_excepthook(lambda: win)
    win.resize(*window_size(args.size, app.primaryScreen()))
    if args.tab:
        win.right_tabs.setCurrentIndex(("scenes", "motion", "export").index(args.tab))
    win.show()
    if args.open:
        win.open_project(args.open)
    elif args.sample:
        win.session.sample_project()
    else:
        win.offer_recovery()
    if shot:
        return _screenshot(app, win, shot, args.timeout, args.view)
    return app.exec()


def _screenshot(app, win, path: str, timeout: float, view: str | None = None) -> int:
    """Poll (timer, no processEvents loop) until settled, then grab and quit."""
    from PySide6.QtCore import QTimer

    from app import errors

    start = time.monotonic()
    state = {"rc": 0, "settled_at": None}

    def poll():
        failed = bool(errors.shown)
        if win.settled() or failed:
            if state["settled_at"] is None:
                state["settled_at"] = time.monotonic()
                win.fit()
                if view:
                    a, b = (float(x) for x in view.split("-"))
                    win.view.set(t0=a, pps=max(win.timeline.canvas.width(), 400) / max(b - a, 0.1))
            # a few more frames so every view has painted its final state
            if time.monotonic() - state["settled_at"] > 0.8:
                timer.stop()
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                ok = win.grab().save(path)
                if failed:
                    print("error shown: " + errors.shown[-1], file=sys.stderr)
                print(f"screenshot: {path} ({'saved' if ok else 'FAILED'})")
                state["rc"] = 0 if ok and not failed else 1
                win.session.undo.setClean()
                win.close()
                app.quit()
        elif time.monotonic() - start > timeout:
            timer.stop()
            print("screenshot: timed out waiting for the analysis", file=sys.stderr)
            state["rc"] = 2
            win.session.undo.setClean()
            win.close()
            app.quit()

    timer = QTimer()
    timer.setInterval(100)
    timer.timeout.connect(poll)
    timer.start()
    app.exec()
    return state["rc"]


if __name__ == "__main__":
    sys.exit(main())
