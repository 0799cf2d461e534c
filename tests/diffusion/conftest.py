"""Helpers of the diffusion tests; the tiny trained model (`trained`) is in tests/conftest.py,
where the renderer conformance test (tests/render) uses it too."""

from __future__ import annotations

from pathlib import Path


def model_root(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "synchrorama-home" / "data" / "models"
