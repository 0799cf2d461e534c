"""Issue 19: mediapipe is imported without matplotlib, and matplotlib still works afterwards."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def test_mediapipe_without_matplotlib_then_the_real_one():
    out = _run(
        "import sys\n"
        "from core.face.mp_import import import_mediapipe\n"
        "mp = import_mediapipe()\n"
        "assert mp is sys.modules['mediapipe'] and mp.solutions.face_mesh.FaceMesh\n"
        "print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n"
        "import matplotlib.pyplot as plt\n"
        "print(plt.__name__, hasattr(plt, 'figure'), import_mediapipe() is mp)\n")
    assert out.splitlines() == ["False False", "matplotlib.pyplot True True"]


def test_matplotlib_already_loaded_is_left_alone():
    out = _run(
        "import sys, matplotlib.pyplot as plt\n"
        "from core.face.mp_import import import_mediapipe\n"
        "import_mediapipe()\n"
        "import mediapipe.python.solutions.drawing_utils as du\n"
        "print(du.plt is plt, sys.modules['matplotlib.pyplot'] is plt)\n")
    assert out == "True True"


def test_a_face_is_read_without_loading_matplotlib(sample_image):
    out = _run(
        "import sys\n"
        "from core.face.rig import load_rig\n"
        "from core.render.layers import person_mask_for_crop\n"
        f"rig = load_rig({str(sample_image)!r})\n"
        "person_mask_for_crop(rig.image[:256, :256])\n"
        "print(rig.landmarks.shape[0], 'matplotlib' in sys.modules)\n")
    assert out == "478 False"
