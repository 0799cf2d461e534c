"""SynchroRaMa Studio: the PySide6 desktop app (GUI only; all work is done by core)."""

import sys


def _pin_singletons() -> None:
    """Work around a reference-count bug of PySide6 6.12 on CPython 3.11.

    Measured here: every void QPainter call (setPen, fillRect, drawLine...)
    drops one reference to None (and some calls to True/False), as if the
    binding assumed CPython 3.12's immortal singletons. After a few thousand
    paints the interpreter aborts with "none_dealloc". Giving None, True and
    False a huge reference count makes them as immortal as on 3.12, which is
    what the binding expects; they are never freed in a live interpreter anyway.
    """
    if sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return
    import ctypes

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


_pin_singletons()
