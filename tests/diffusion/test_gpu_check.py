"""The GPU check's CPU side: the dry run in an environment as bare as the GPU machine's.

The GPU machine has torch, accelerate, transformers, safetensors, numpy and
OpenCV (and what they require) but no diffusers, no mediapipe and no project
environment; the check brings diffusers as carried wheels. Here the same shell
script runs with ``python -S`` and a path of links to exactly those packages,
plus wheels repacked from this environment (CI has no network at test time;
``bench.gpu_prep`` downloads the cp312 builds the GPU machine needs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import REPO


def test_dry_run_in_a_bare_environment_uses_the_carried_diffusers(synthetic, tmp_path):
    import cv2

    from bench.gpu_prep import CARRIED, bare_site, repack_installed, write_dataset

    prep = tmp_path / "prep"
    write_dataset(synthetic, prep / "dataset.npz")  # the real clip's file has the same layout (bench.gpu_prep)
    for name in CARRIED:
        repack_installed(name, prep / "wheels")
    bare = bare_site(tmp_path / "bare")
    assert not any(n.lower().startswith(("diffusers", "mediapipe", "scipy", "pillow")) for n in bare), bare
    out = tmp_path / "out"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "OUT": str(out),
           "OMP_NUM_THREADS": "1", "GPU_CHECK_DIR": str(prep), "GPU_CHECK_PYTHON": sys.executable,
           "GPU_CHECK_ISOLATED": "1", "GPU_CHECK_BASE_PATH": str(tmp_path / "bare"), "GPU_CHECK_LIMIT_S": "400"}
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--device", "cpu", "--dry-run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["status"] == "done" and report["dry_run"]
    envr = report["environment"]
    assert envr["diffusers_from"].startswith(str(tmp_path / "gpu-check-site.")), envr
    assert envr["mediapipe_present"] is False
    assert {s["resolution"] for s in report["sampling"]} == {256, 512}
    assert all(s["fps"] > 0 for s in report["sampling"])
    assert report["plan"]["preset"] == "tiny" and report["plan"]["heldout_frames"] == 4
    assert report["training"]["vae_steps"] == 4 and report["training"]["denoiser_steps"] == 4
    held = report["heldout"]
    assert held["frames"] == 4 and {"psnr", "ssim", "mesh_psnr", "mesh_ssim"} <= set(held)
    sheet = cv2.imread(str(out / "heldout_real_mesh_diffusion.png"))
    assert sheet is not None and sheet.shape[0] == 3 * 64
    frames = np.load(out / "heldout.npz", allow_pickle=False)
    assert frames["diffusion"].shape == frames["real"].shape == (4, 32, 32, 3)


def test_wheel_check_wants_one_cp312_or_pure_wheel_per_package():
    from bench.gpu_prep import CARRIED, wheel_problems

    good = {"diffusers": "diffusers-0.42.1-py3-none-any.whl",
            "pillow": "pillow-13.0.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "charset-normalizer": "charset_normalizer-3.5.3-cp312-cp312-manylinux_2_28_x86_64.whl"}
    names = [good.get(p, f"{p.replace('-', '_')}-1.0-py3-none-any.whl") for p in CARRIED]
    assert wheel_problems(names) == []
    wrong = [n.replace("cp312", "cp311") for n in names]
    assert any("pillow" in p and "3.12" in p for p in wheel_problems(wrong))
    assert any("diffusers: 0 wheels" in p for p in wheel_problems(names[1:]))
    assert any("diffusers: 2 wheels" in p for p in wheel_problems(names + ["diffusers-0.41.0-py3-none-any.whl"]))


def test_deadline_watchdog_stops_training_with_the_rates_so_far(synthetic, tmp_path):
    """On the GPU the schedule is planned from measured rates; if the plan was too long the
    trainer is cancelled before the hard limit kills the call (figures kept)."""
    import pytest

    from bench.gpu_check import Clock, StageTimer, train_avatar
    from core.errors import Cancelled

    timer = StageTimer(Clock(0.0), floor_s=1.0)  # already past the deadline
    with pytest.raises(Cancelled):
        train_avatar(synthetic, "tiny", "cpu", vae_steps=50, unet_steps=50, batch=2, workdir=tmp_path,
                     validations=0, say=lambda msg: None, timer=timer)
    assert timer.stages["train autoencoder"]["last_step"] == 1
    assert "train denoiser" not in timer.stages
    assert (tmp_path / "checkpoint" / "vae.safetensors").exists()  # --resume could continue it
