"""``synchrorama train-avatar`` and ``synchrorama train``.

Both prepare clips (tracked, stabilised crops + motion frames + labels,
cached in the work folder), then train and save the model into the model
store. Multi-GPU (or multi-process CPU) runs go through the standard
launchers, e.g. ``torchrun --nproc_per_node 8 -m core.cli train --dataset DIR``
or ``accelerate launch -m core.cli train ...``: rank 0 prepares the data, the
others wait for it, DDP keeps the weights identical.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from core.commands.common import ProgressBar, cancel_on_ctrl_c
from core.errors import UserInputError

DATA_VERSION = 1


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="model name in the model store (default: from the footage/folder)")
    p.add_argument("--preset", default="base", choices=["tiny", "small", "base"],
                   help="model size: base (GPU), small, tiny (CPU smoke check)")
    p.add_argument("--resolution", type=int, choices=[256, 512], help="face-crop resolution (base preset)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, help="denoiser training steps (default: the preset's)")
    p.add_argument("--vae-steps", type=int, help="autoencoder training steps (default: the preset's)")
    p.add_argument("--batch-size", type=int, help="frames per step and process")
    p.add_argument("--sample-steps", type=int, help="sampling steps saved as the avatar's default")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate the footage is sampled at")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail of every clip")
    p.add_argument("--no-emotion-labels", action="store_true",
                   help="do not label the footage with the emotion analysers")
    p.add_argument("--workdir", type=Path, help="checkpoints and prepared data (default: user cache)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --workdir")
    p.add_argument("--rank-digest", action="store_true",
                   help="write each process's final weight digest to WORKDIR/rank-N.json (DDP check)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def configure_train_avatar(p: argparse.ArgumentParser) -> None:
    p.add_argument("--video", type=Path, required=True, help="a few minutes of you talking to the camera")
    p.add_argument("--minutes", type=float, help="use at most this much of the footage")
    _common(p)


def configure_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", type=Path, required=True,
                   help="folder of talking-face clips (optional CLIP.scenes.json beside each), "
                        "or of clips prepared by an earlier run")
    p.add_argument("--minutes", type=float, help="use at most this much of each clip")
    _common(p)


def _rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _plan(args: argparse.Namespace):
    from core.render.diffusion.config import preset

    if args.preset != "base" and args.resolution:
        raise UserInputError(f"--resolution applies to the base preset; {args.preset} has a fixed size.", None,
                             "Leave out --resolution or use --preset base.")
    p = preset(args.preset, args.resolution)
    t = p.train
    if args.steps is not None:
        t.unet_steps = max(1, args.steps)
        t.checkpoint_every = min(t.checkpoint_every, t.unet_steps)
        t.validate_every = min(t.validate_every, t.unet_steps)
    if args.vae_steps is not None:
        t.vae_steps = max(1, args.vae_steps)
    if args.batch_size is not None:
        t.batch_size = max(1, args.batch_size)
    if not 0.0 < args.val_fraction < 0.5:
        raise UserInputError("--val-fraction must be between 0 and 0.5.", None, "0.1 is typical.")
    t.val_fraction = args.val_fraction
    if args.sample_steps is not None:
        p.sample_steps = max(1, args.sample_steps)
    return p


def _workdir(args: argparse.Namespace, name: str) -> Path:
    from core.paths import cache_dir

    return args.workdir or cache_dir() / "training" / name


def _prepare(videos: list[Path], args: argparse.Namespace, res: int, workdir: Path, bar, cancel):
    """Prepared clips, built once and cached (rank 0 builds; other ranks wait)."""
    from core.io.files import atomic_write_text
    from core.render.diffusion.data import ClipData, clip_from_video, scenes_for

    rank, world = _rank()
    data = workdir / "data"
    clips = []
    for v in videos:
        key = {"version": DATA_VERSION, "source": str(v.resolve()), "size": v.stat().st_size,
               "mtime": int(v.stat().st_mtime), "resolution": res, "fps": args.fps, "minutes": args.minutes,
               "val_fraction": args.val_fraction, "emotion": not args.no_emotion_labels}
        folder = data / v.stem
        ready = folder / "ready.json"

        def fresh() -> bool:
            try:
                return json.loads(ready.read_text(encoding="utf-8")) == key
            except (OSError, ValueError):
                return False

        if not fresh():
            if rank == 0:
                clip = clip_from_video(v, res, fps=args.fps, seconds=args.minutes * 60 if args.minutes else None,
                                       val_fraction=args.val_fraction, emotion_labels=not args.no_emotion_labels,
                                       scenes=scenes_for(v), progress=bar, cancel=cancel)
                clip.save(folder)
                atomic_write_text(ready, json.dumps(key))
            else:
                while not fresh():
                    cancel.check()
                    time.sleep(1.0)
        clips.append(ClipData.load(folder))
    return clips


def _prepared_dataset(folder: Path) -> list:
    from core.render.diffusion.data import ClipData

    return [ClipData.load(p.parent) for p in sorted(folder.glob("*/clip.json"))]


def _reference_png(clip) -> bytes | None:
    import cv2
    import numpy as np

    img = clip.portrait if getattr(clip, "portrait", None) is not None else clip.reference
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR))
    return buf.tobytes() if ok else None


def _train(args: argparse.Namespace, name: str, kind: str, videos: list[Path] | None, prepared: list | None) -> int:
    from core.errors import Cancelled
    from core.paths import models_dir
    from core.render.diffusion.device import resolve_device
    from core.render.diffusion.train import TrainJob, Trainer

    p = _plan(args)
    resolve_device(args.device, cpu_fallback=args.preset == "tiny")  # fail before the long data preparation
    workdir = _workdir(args, name)
    rank, world = _rank()
    bar = ProgressBar() if rank == 0 else None   # the other ranks show nothing
    progress = bar or _quiet
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if rank == 0 else (lambda msg: None)
    with cancel_on_ctrl_c(bar) as cancel:
        t0 = time.perf_counter()
        clips = prepared if prepared is not None else _prepare(videos or [], args, p.model.resolution, workdir,
                                                                progress, cancel)
        if not clips:
            raise UserInputError("no usable clips.", args.dataset if kind != "diffusion-avatar" else args.video,
                                 "Check that the footage shows a face.")
        bad = [c.name for c in clips if c.resolution != p.model.resolution]
        if bad:
            raise UserInputError(f"prepared clips {bad} are not {p.model.resolution} px.", None,
                                 "Use the preset and resolution they were prepared with.")
        for c in clips:
            if c.info.get("face_found") is not None:
                say(f"clip {c.name}: {c.n} frames, face in {c.info['face_found']:.0%}, "
                    f"held out from frame {c.val_start}, emotion labels: {c.info.get('emotion_labels')}")
        job = TrainJob(name=name, clips=clips, model=p.model, train=p.train, workdir=workdir,
                       out_dir=models_dir() / _safe(name), device=args.device, kind=kind, resume=args.resume,
                       sample_steps=p.sample_steps, preset=args.preset,
                       val_frames=16 if args.preset == "tiny" else 48,
                       reference_png=_reference_png(clips[0]) if kind == "diffusion-avatar" else None)
        trainer = Trainer(job, progress=progress, cancel=cancel, say=say)
        try:
            result = trainer.run()
        except Cancelled:
            say(f"cancelled; the last checkpoint is in {workdir / 'checkpoint'} (continue with --resume)")
            raise
        if args.rank_digest:
            _write_digest(workdir, trainer)
    if rank == 0:
        say(f"trained '{name}' in {time.perf_counter() - t0:.1f} s; held-out frames: {result.validation}")
        if result.model_dir:
            say(f"saved to {result.model_dir}")
            if kind == "diffusion-avatar":
                say(f"render with: synchrorama render --renderer diffusion --avatar {name} "
                    f"--image {Path(result.model_dir) / 'reference.png'} --audio NARRATION.wav")
        if args.json:
            print(json.dumps({"name": name, "model_dir": result.model_dir, "seconds": result.seconds,
                              "validation": result.validation, "steps": result.steps, "world_size": world,
                              "loss_first": _mean_loss(result.history, first=True),
                              "loss_last": _mean_loss(result.history, first=False)}))
    return 0


def _quiet(*_args) -> None:
    """The progress of a process other than rank 0: nothing is shown."""


def _mean_loss(history: list[dict], first: bool) -> float | None:
    vals = [h["loss"] for h in history if h["stage"] == "unet"]
    if not vals:
        return None
    part = vals[: max(1, len(vals) // 5)] if first else vals[-max(1, len(vals) // 5):]
    return round(sum(part) / len(part), 5)


def _write_digest(workdir: Path, trainer) -> None:
    """sha256 of this process's final weights, to show DDP kept every rank identical."""
    import hashlib

    import torch

    rank, world = _rank()
    h = hashlib.sha256()
    for module in (trainer.final_vae, trainer.final_denoiser):
        for k, v in sorted(module.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"rank-{rank}.json").write_text(json.dumps({"rank": rank, "world_size": world, "backend": backend,
                                                          "sha256": h.hexdigest()}), encoding="utf-8")


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    if not keep:
        raise UserInputError(f"'{name}' is not usable as a model name.", None, "Use letters and digits.")
    return keep


def run_train_avatar(args: argparse.Namespace) -> int:
    if not args.video.is_file():
        raise UserInputError("footage not found.", args.video, "Check the path.")
    if args.minutes is not None and args.minutes <= 0:
        raise UserInputError("--minutes must be positive.", None, "Use e.g. --minutes 3.")
    name = args.name or args.video.stem
    return _train(args, name, "diffusion-avatar", [args.video], None)


def run_train(args: argparse.Namespace) -> int:
    from core.render.diffusion.data import dataset_videos

    folder = args.dataset
    name = args.name or folder.name
    prepared = _prepared_dataset(folder) if folder.is_dir() else []
    if prepared:
        return _train(args, name, "diffusion-general", None, prepared)
    return _train(args, name, "diffusion-general", dataset_videos(folder), None)
