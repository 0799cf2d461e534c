"""CPU tests of the diffusion avatar with the tiny preset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import Cancelled, UserInputError
from tests.conftest import REPO, SAMPLE, run_cli


def test_training_lowers_both_losses(trained):
    _, result = trained
    for stage in ("vae", "unet"):
        losses = [h["loss"] for h in result.history if h["stage"] == stage]
        first, last = np.mean(losses[:10]), np.mean(losses[-10:])
        assert last < 0.75 * first, (stage, first, last)
    assert set(result.validation) >= {"psnr", "ssim", "mesh_psnr", "mesh_ssim"}
    assert Path(result.model_dir, "manifest.json").exists()


def test_save_load_gives_identical_frames(trained, tmp_path):
    import torch

    from core.render.diffusion.conditioning import audio_windows
    from core.render.diffusion.pipeline import AvatarPipeline, SampleSettings

    trainer, result = trained
    clip = trainer.job.clips[0]
    live = trainer.pipeline(trainer.final_vae, trainer.final_denoiser, "cpu")
    loaded = AvatarPipeline.from_pretrained(result.model_dir)
    copy = live.save_pretrained(tmp_path / "again", name="again")
    again = AvatarPipeline.from_pretrained(copy)
    cfg = loaded.config
    assert cfg == live.config and again.config == cfg
    aud = torch.from_numpy(audio_windows(np.asarray(clip.audio[:3]), cfg.audio_window, cfg.audio_mean, cfg.audio_std))
    outs = []
    for pipe in (live, loaded, again):
        ref = pipe.encode(np.asarray(clip.reference)[None])
        mot = pipe.encode(np.asarray(clip.motion[:3]))
        lat = pipe.sample(ref, mot, mot[:1], aud, torch.from_numpy(np.asarray(clip.emotion[:3])),
                          torch.zeros(3, 384), torch.zeros(3, dtype=torch.bool),
                          generator=torch.Generator().manual_seed(3))
        outs.append(pipe.decode(lat))
    assert outs[0].shape == (3, 32, 32, 3)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    # guidance passes change the result but stay deterministic
    loaded.sampling.emotion_scale = 3.0
    ref = loaded.encode(np.asarray(clip.reference)[None])
    mot = loaded.encode(np.asarray(clip.motion[:3]))
    args = (ref, mot, None, aud, torch.from_numpy(np.asarray(clip.emotion[:3])), torch.zeros(3, 384),
            torch.zeros(3, dtype=torch.bool))
    g1 = loaded.sample(*args, generator=torch.Generator().manual_seed(3))
    g2 = loaded.sample(*args, generator=torch.Generator().manual_seed(3))
    assert torch.equal(g1, g2)
    # DDIM gives frames of the same shape and differs from DPM-Solver++
    loaded.sampling.emotion_scale = 1.0
    d = loaded.sample(*args, generator=torch.Generator().manual_seed(3),
                      settings=SampleSettings(steps=4, sampler="ddim"))
    p = loaded.sample(*args, generator=torch.Generator().manual_seed(3),
                      settings=SampleSettings(steps=4, sampler="dpm++"))
    assert d.shape == p.shape and torch.isfinite(d).all() and not torch.equal(d, p)


def test_damaged_model_is_refused(trained, tmp_path):
    import shutil

    from core.render.diffusion.pipeline import AvatarPipeline

    _, result = trained
    bad = tmp_path / "bad"
    shutil.copytree(result.model_dir, bad)
    f = next((bad / "unet").glob("*.safetensors"))
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(UserInputError, match="manifest"):
        AvatarPipeline.from_pretrained(bad)


def _motion(n: int):
    from core.units import UNIT_NAMES
    from core.tracks import MotionTrack

    m = MotionTrack.rest(n, 25.0)
    m.weights[:, UNIT_NAMES.index("jaw_open")] = np.linspace(0, 0.8, n)
    m.head[:, 0] = np.linspace(-5, 5, n)
    return m


@pytest.fixture(scope="module")
def rig():
    from core.face.rig import load_rig

    return load_rig(SAMPLE / "portrait.png")


def test_renderer_yields_full_frames_and_honours_cancel(trained, rig, short_audio):
    from core.progress import CancelToken
    from core.render.base import RenderConditioning, Renderer, make_renderer
    from core.tracks import EmotionTrack, SceneSegment, SceneTrack

    r = make_renderer("diffusion", avatar="tiny-test", device="cpu", steps=2, batch=2)
    assert isinstance(r, Renderer)
    r.prepare(rig, 512)
    w, h = r.frame_size
    cond = RenderConditioning(emotion=EmotionTrack.neutral(5, 25.0), audio_path=str(short_audio),
                              scenes=SceneTrack([SceneSegment(0, 1, "smiles")]))
    seen = []
    frames = list(r.frames(_motion(5), cond, progress=lambda s, d, t: seen.append(d)))
    assert len(frames) == 5 and seen[-1] == 5
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 for f in frames)
    # only the face crop changes; the rest of the portrait is the portrait
    x0, y0, x1, y1 = r.mesh.dst_box
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(frames[0][outside], r.mesh.base[outside])
    assert not np.array_equal(frames[0][y0:y1, x0:x1], r.mesh.base[y0:y1, x0:x1])
    token = CancelToken()
    got = []
    with pytest.raises(Cancelled):
        for f in r.frames(_motion(8), cond, cancel=token):
            got.append(f)
            if len(got) == 2:
                token.cancel()
    assert len(got) == 2


def test_renderer_explains_missing_avatar_and_cuda():
    import torch

    from core.render.diffusion.renderer import DiffusionRenderer

    with pytest.raises(UserInputError, match="--avatar"):
        DiffusionRenderer(avatar=None)
    with pytest.raises(UserInputError, match="no model named"):
        DiffusionRenderer(avatar="nobody", device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserInputError, match="CUDA"):
            DiffusionRenderer(avatar="nobody")


def test_fit_recovers_known_motion(rig):
    from core.units import UNIT_NAMES
    from core.render.diffusion.fit import MotionFitter
    from core.render.mesh import MeshRenderer, _rotation

    m = MeshRenderer(size=128)
    m.prepare(rig, 128)
    w = np.zeros(len(UNIT_NAMES), np.float32)
    w[UNIT_NAMES.index("jaw_open")] = 0.6
    w[UNIT_NAMES.index("eye_blink")] = 0.5
    head = np.array([8, -5, 4, 0.03, -0.02, 0.05])
    p = m._expressed(w)  # the renderer's own eased blink field
    q = (p - m.pivot) @ _rotation(*head[:3]).T * (1 + head[5]) + m.pivot
    q[:, :2] += head[3:5] * m.face_w
    fit = MotionFitter(m).fit(q)
    assert np.allclose(fit.head[:3], head[:3], atol=0.1)
    assert np.allclose(fit.head[3:], head[3:], atol=2e-3)
    # the ridge term (fit.RIDGE) shrinks weights: measured jaw 0.60 -> 0.53, blink 0.50 -> 0.38
    assert abs(fit.weights[UNIT_NAMES.index("jaw_open")] - 0.6) < 0.1
    assert abs(fit.weights[UNIT_NAMES.index("eye_blink")] - 0.5) < 0.15
    back = m.moved_landmarks(fit.weights, fit.head, fit.gaze)
    assert np.abs(back[:468] - q[:468, :2]).mean() < 0.05 * m.face_w
    # other units stay small (measured 0.18 at most: ridge shares a little of the jaw);
    # a blink is a blink, not blink + two winks (the blink field is the sum of the wink fields)
    assert max(w for n, w in zip(UNIT_NAMES, fit.weights) if n not in ("jaw_open", "eye_blink")) < 0.25
    # a wink of the left eye comes back as a wink of that eye (measured 0.585 for 0.8, blink 0.07)
    w[UNIT_NAMES.index("eye_blink")], w[UNIT_NAMES.index("wink_left")] = 0.0, 0.8
    q = (m._expressed(w) - m.pivot) @ _rotation(*head[:3]).T * (1 + head[5]) + m.pivot
    q[:, :2] += head[3:5] * m.face_w
    fit = MotionFitter(m).fit(q)
    named = dict(zip(UNIT_NAMES, fit.weights))
    assert named["wink_left"] > 0.45 and named["wink_right"] == 0 and named["eye_blink"] < 0.15


@pytest.fixture(scope="module")
def talking_video(tmp_path_factory, short_audio, rig):
    """2 s of the sample portrait talking (mesh renderer), with the narration: stand-in footage."""
    from core.io.video import ExportSettings, Mp4Writer
    from core.render.mesh import MeshRenderer

    out = tmp_path_factory.mktemp("footage") / "me.mp4"
    m = MeshRenderer(size=256, max_output=320)
    m.prepare(rig, 256)
    motion = _motion(50)
    motion.weights[:, 0] = 0.4 + 0.4 * np.sin(np.arange(50) * 0.8)
    with Mp4Writer(out, *m.frame_size, short_audio, ExportSettings(fps=25.0)) as w:
        for f in m.frames(motion):
            w.write(f)
    return out


@pytest.mark.slow
def test_train_avatar_on_two_gloo_processes_keeps_identical_weights(talking_video, short_audio, tmp_path,
                                                                     monkeypatch, capsys):
    """`torchrun` x2 (gloo) runs the real `train-avatar` on footage: tracking, motion fit, DDP, save.

    One launch covers the user command and the multi-process path (each
    launch costs two cold imports of torch + diffusers on CI's two cores).
    """
    import os

    import torch

    from core.cli import main
    from core.models import list_models

    home = tmp_path / "home"
    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "core.cli", "train-avatar", "--video", str(talking_video), "--name", "me", "--preset", "tiny",
           "--device", "cpu", "--steps", "3", "--vae-steps", "2", "--batch-size", "2", "--no-emotion-labels",
           "--minutes", "0.024", "--workdir", str(work), "--rank-digest", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SYNCHRORAMA_HOME": str(home)}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((work / f"rank-{i}.json").read_text()) for i in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert {r["backend"] for r in ranks} == {"gloo"}
    assert ranks[0]["sha256"] == ranks[1]["sha256"]  # different batches per rank, same weights after
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2
    model = Path(summary["model_dir"])
    assert (model / "reference.png").exists() and (model / "manifest.json").exists()
    info = json.loads((model / "training.json").read_text())
    assert info["clips"][0]["face_found"] > 0.9
    assert info["clips"][0]["fit_residual_face_widths"] < 0.05
    # --minutes 0.024 = the first 36 of the 50 frames; their last 10 % is never trained on
    assert info["clips"][0]["frames"] == 36 and info["clips"][0]["held_out_from"] == 32
    assert {"psnr", "ssim", "mesh_psnr", "mesh_ssim"} <= set(info["validation"])
    # listed by the model store (`synchrorama models`), every file matching its sha256
    listed = {m.name: m for m in list_models(home / "data" / "models", check=True)}
    assert listed["me"].kind == "diffusion-avatar" and listed["me"].status == "ok"
    if not torch.cuda.is_available():  # the plain render command explains the missing GPU
        monkeypatch.setenv("SYNCHRORAMA_HOME", str(home))
        capsys.readouterr()
        rc = main(["render", "--renderer", "diffusion", "--avatar", "me", "--image", str(model / "reference.png"),
                   "--audio", str(short_audio), "-o", str(tmp_path / "o.mp4")])
        err = capsys.readouterr().err
        assert rc == 2 and "NVIDIA GPU" in err and "--renderer mesh" in err


def _saved_tracks(folder: Path, audio: Path, n: int = 50) -> Path:
    from core.tracks import Alignment, EmotionTrack, MediaRef, SceneSegment, SceneTrack, Tracks

    tracks = Tracks(fps=25.0, duration=n / 25.0, audio=MediaRef(str(audio), ""),
                    portrait=MediaRef(str(SAMPLE / "portrait.png"), ""), alignment=Alignment(),
                    emotion=EmotionTrack.neutral(n, 25.0), scenes=SceneTrack([SceneSegment(0, 1, "smiles")]),
                    motion=_motion(n))
    tracks.save(folder / "tracks.json")
    return folder / "tracks.json"


def test_render_request_with_the_diffusion_renderer_on_the_cpu(trained, short_audio, tmp_path):
    """What `synchrorama render --renderer diffusion --avatar NAME --load-tracks T` runs, on the CPU.

    Saved tracks stand in for the analysis (speech recognition and emotion
    take seconds and are tested elsewhere); the render, the narration's audio
    features and the MP4 export are the real ones.
    """
    from core.io.video import probe
    from core.pipeline import RenderRequest, render

    out = tmp_path / "d.mp4"
    req = RenderRequest(image=SAMPLE / "portrait.png", audio=short_audio, output=out, renderer="diffusion",
                        load_tracks=_saved_tracks(tmp_path, short_audio),
                        renderer_options={"avatar": "tiny-test", "device": "cpu", "steps": 2, "batch": 5})
    result = render(req)
    info = probe(out)
    assert result.frames == 50 and info.n_frames == 50 and info.has_audio
    assert (info.width, info.height) == (result.width, result.height)


def test_render_command_with_device_cpu(trained, short_audio, tmp_path):
    """`synchrorama render --renderer diffusion --avatar NAME --device cpu` end to end."""
    import argparse

    from core.cli import main
    from core.commands.render import configure_render
    from core.io.video import probe

    p = argparse.ArgumentParser()
    configure_render(p)
    assert any("--device" in a.option_strings for a in p._actions)
    out = tmp_path / "cli.mp4"
    rc = main(["render", "--renderer", "diffusion", "--avatar", "tiny-test", "--device", "cpu",
               "--image", str(SAMPLE / "portrait.png"), "--audio", str(short_audio),
               "--load-tracks", str(_saved_tracks(tmp_path, short_audio)), "-o", str(out)])
    assert rc == 0 and probe(out).n_frames == 50


def test_train_dataset_command_on_prepared_clips(synthetic, tmp_path, capsys):
    """`synchrorama train --dataset DIR` (in-process: torch is already imported) saves a general model."""
    from core.cli import main

    data = tmp_path / "dataset"
    synthetic.save(data / "clip0")
    rc = main(["train", "--dataset", str(data), "--name", "general", "--preset", "tiny", "--device", "cpu",
               "--steps", "2", "--vae-steps", "2", "--batch-size", "2", "--workdir", str(tmp_path / "w"),
               "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    body = json.loads(Path(summary["model_dir"], "config.json").read_text())
    assert body["kind"] == "diffusion-general" and body["model"]["resolution"] == 32


def _small_job(synthetic, tmp_path, **train):
    from core.render.diffusion.config import preset
    from core.render.diffusion.train import TrainJob

    p = preset("tiny")
    p.train.batch_size = 2
    for k, v in train.items():
        setattr(p.train, k, v)
    return TrainJob(name="x", clips=[synthetic], model=p.model, train=p.train, workdir=tmp_path / "w",
                    out_dir=None, device="cpu", preset="tiny", val_frames=4)


def test_cancel_keeps_a_checkpoint_to_resume_from(synthetic, tmp_path):
    from core.progress import CancelToken
    from core.render.diffusion.train import Trainer

    token = CancelToken()

    def progress(stage, done, total):
        if stage == "train autoencoder" and done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        Trainer(_small_job(synthetic, tmp_path, vae_steps=10, unet_steps=2), progress, token).run()
    state = json.loads((tmp_path / "w" / "checkpoint" / "state.json").read_text())
    assert (state["stage"], state["step"]) == ("vae", 3)
    # resume, and cancel again inside the denoiser stage
    token = CancelToken()

    def progress2(stage, done, total):
        if stage == "train denoiser" and done == 2:
            token.cancel()

    job = _small_job(synthetic, tmp_path, vae_steps=5, unet_steps=4)
    job.resume = True
    with pytest.raises(Cancelled):
        Trainer(job, progress2, token).run()
    state = json.loads((tmp_path / "w" / "checkpoint" / "state.json").read_text())
    assert (state["stage"], state["step"]) == ("unet", 2)
    job = _small_job(synthetic, tmp_path, vae_steps=5, unet_steps=4)
    job.resume = True
    result = Trainer(job).run()
    vae_steps = [h["step"] for h in result.history if h["stage"] == "vae"]
    assert vae_steps == [1, 2, 3, 4, 5]  # steps 1-3 from before the first cancel, 4-5 after
    assert [h["step"] for h in result.history if h["stage"] == "unet"] == [1, 2, 3, 4]


def test_out_of_memory_stops_with_advice(synthetic, tmp_path, monkeypatch):
    import torch

    from core.render.diffusion import losses
    from core.render.diffusion.train import Trainer

    def boom(self, *a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(losses.VAELoss, "forward", boom)
    with pytest.raises(UserInputError, match="ran out of memory.*--batch-size 1"):
        Trainer(_small_job(synthetic, tmp_path, vae_steps=3, unet_steps=2)).run()
