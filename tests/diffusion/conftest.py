"""One tiny model trained once per session on a synthetic clip, shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest


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


def model_root(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "synchrorama-home" / "data" / "models"
