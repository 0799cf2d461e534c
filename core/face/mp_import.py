"""Import mediapipe without matplotlib (issue 19: start-up time).

mediapipe's ``solutions`` package imports its drawing helpers, and those
import ``matplotlib.pyplot`` at the top for one 3-D plotting function the
app never calls: about 0.4-0.8 s of every process that reads a face or a
person mask (matplotlib and its font machinery), more on a first run. Here
mediapipe is imported with a stand-in for ``matplotlib`` and
``matplotlib.pyplot`` in ``sys.modules``, removed again at once, so a later
``import matplotlib`` anywhere gets the real package. If matplotlib is
already imported, nothing is stood in for.
"""

from __future__ import annotations

import sys
import threading
import types

_lock = threading.Lock()
_STAND_INS = ("matplotlib", "matplotlib.pyplot")


class _NoPlotting(types.ModuleType):
    """What mediapipe's drawing_utils holds as ``plt``: says why if it is ever used."""

    def __getattr__(self, name: str):
        raise AttributeError(f"matplotlib was not loaded with mediapipe (core.face.mp_import); "
                             f"import matplotlib.pyplot before mediapipe to use {self.__name__}.{name}")


def import_mediapipe():
    """The ``mediapipe`` module, imported without matplotlib the first time."""
    mp = sys.modules.get("mediapipe")
    if mp is not None:
        return mp
    with _lock:
        placed = {}
        if not any(name in sys.modules for name in _STAND_INS):
            for name in _STAND_INS:
                stub = _NoPlotting(name)
                stub.__path__ = []          # a package, as far as the import system asks
                placed[name] = sys.modules[name] = stub
            placed["matplotlib"].pyplot = placed["matplotlib.pyplot"]
        try:
            import mediapipe
            import mediapipe.python.solutions  # noqa: F401  (the part that imports pyplot)
        finally:
            for name, stub in placed.items():
                if sys.modules.get(name) is stub:
                    del sys.modules[name]
        return mediapipe
