"""Shared fixtures: isolated user dirs, the dev data folder, sample media."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
SAMPLE = REPO / "resources" / "sample"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Caches, models and logs go to a temporary folder, never the user's."""
    home = tmp_path_factory.getbasetemp() / "synchrorama-home"
    monkeypatch.setenv("SYNCHRORAMA_HOME", str(home))


def in_ci() -> bool:
    """True on a CI runner (``CI=true``, as GitHub Actions, GitLab and most others set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying why.

    In CI (``CI=true``) with ../shared/data present, a test that needs the data must not skip:
    a file missing there fails the test (a renamed or forgotten file would otherwise pass as a
    quiet skip). Without the folder the test still skips, in CI too.
    """
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        why = f"development data not found: {path} (needs ../shared/data beside the repo)"
        if in_ci() and SHARED_DATA.is_dir():
            pytest.fail(f"{why}; in CI with {SHARED_DATA} present a test that needs the data must not skip",
                        pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def sample_image() -> Path:
    return SAMPLE / "portrait.png"


@pytest.fixture(scope="session")
def sample_audio() -> Path:
    return SAMPLE / "narration.wav"


@pytest.fixture(scope="session")
def short_audio(tmp_path_factory) -> Path:
    """The first 3 seconds of the sample narration (fast end-to-end renders)."""
    from core.io.ffmpeg import run_ffmpeg

    out = tmp_path_factory.mktemp("audio") / "short.wav"
    run_ffmpeg(["-y", "-i", str(SAMPLE / "narration.wav"), "-t", "3", str(out)], check=True)
    return out


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``synchrorama`` in a subprocess the way a user does."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=e)


def write_wav(path: Path, samples: np.ndarray, sr: int = 16000) -> Path:
    import soundfile as sf

    sf.write(str(path), samples.astype(np.float32), sr)
    return path


# One tiny diffusion model trained once per session on a synthetic clip, shared by
# tests/diffusion and the renderer conformance test (tests/render/test_renderer_contract.py).
@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    from core.render.diffusion.data import synthetic_clip

    return synthetic_clip(24, 32, seed=0)


@pytest.fixture(scope="session")
def trained(synthetic, tmp_path_factory):
    """(trainer, result) of a tiny run saved into the session's isolated model store."""
    import os

    from core.render.diffusion.config import preset
    from core.render.diffusion.train import TrainJob, Trainer

    base = tmp_path_factory.getbasetemp()
    os.environ["SYNCHRORAMA_HOME"] = str(base / "synchrorama-home")  # same folder the autouse fixture sets
    from core.paths import models_dir

    p = preset("tiny")
    p.train.batch_size = 6  # two shared CI cores: keep the session fixture near 10 s
    p.train.unet_steps = 30  # measured: the denoiser loss still falls below 0.6 of its start
    job = TrainJob(name="tiny-test", clips=[synthetic], model=p.model, train=p.train,
                   workdir=base / "train-work", out_dir=models_dir() / "tiny-test", device="cpu",
                   preset="tiny", sample_steps=p.sample_steps, val_frames=4)
    trainer = Trainer(job)
    result = trainer.run()
    return trainer, result


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if analysis or rendering starts: the input and output checks must come first (tests of bad input)."""
    import core.pipeline as pipeline
    import core.project as project

    def boom(*a, **k):
        raise AssertionError("analysis started before the check")

    monkeypatch.setattr(pipeline, "analyse", boom)
    monkeypatch.setattr(pipeline, "render_tracks", boom)
    monkeypatch.setattr(project, "analyse_project", boom)
