"""Loaded models can all be let go (the studio's analysis helper does after each job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_holder_releases_its_model_and_loads_it_again_on_next_use():
    # in a child: a fresh process, so the module-level caches start empty
    code = (
        "import numpy as np\n"
        "from core.face import rig, expression\n"
        "from core.model_cache import HOLDERS, release_models\n"
        "import importlib\n"
        "for name in HOLDERS:\n"
        "    assert callable(importlib.import_module(name).release_models), name\n"
        "img = rig.load_rig('resources/sample/portrait.png').image\n"
        "assert rig._mesh_cache and expression._model is None\n"
        "expression._network()\n"
        "asked = release_models()\n"
        "assert 'core.face.rig' in asked and not rig._mesh_cache and expression._model is None\n"
        "pts = rig.detect_landmarks(img)\n"       # built again on next use
        "assert len(pts) == 1 and rig._mesh_cache\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-2000:]


def test_a_render_lets_go_only_of_what_the_analysis_alone_uses():
    """After the analysis a render drops these (10-min render: 1052 -> 788 MB, docs/benchmarks.md),
    while the renderer's preparation, which may still run, keeps the face mesh, mask and embedder."""
    code = (
        "from core.face import rig, expression\n"
        "from core.model_cache import ANALYSIS_HOLDERS, HOLDERS, release_models\n"
        "assert set(ANALYSIS_HOLDERS) < set(HOLDERS)\n"
        "assert not {'core.face.rig', 'core.face.segmentation', 'core.face.identity'} & set(ANALYSIS_HOLDERS)\n"
        "rig.load_rig('resources/sample/portrait.png')\n"
        "expression._network()\n"
        "asked = release_models(ANALYSIS_HOLDERS)\n"
        "assert 'core.face.expression' in asked and 'core.face.rig' not in asked\n"
        "assert expression._model is None and rig._mesh_cache\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-2000:]
