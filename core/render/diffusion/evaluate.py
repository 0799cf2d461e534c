"""Held-out evaluation: the avatar against the mesh renderer on the same frames.

The held-out tail of each clip is rendered exactly as the renderer renders
(batches of frames, the previous batch's last latent as the previous frame,
the clip's own audio, emotion and text), and scored against the real crops
next to the mesh renderer's motion frames for the same motion. Used by the
trainer's validation (``training.json``) and by the bench.
"""

from __future__ import annotations

import math

import numpy as np

MOUTH_MIN_RES = 128  # the face mesh does not find faces in smaller crops, even upscaled


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM on luma with an 11 px Gaussian window (Wang et al. 2004 constants)."""
    import cv2

    def luma(x):
        return x.astype(np.float64) @ [0.299, 0.587, 0.114]

    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(m.mean())


def mouth_series(frames: np.ndarray) -> np.ndarray:
    """Mouth opening of each frame from the face mesh (NaN where no face is found)."""
    import cv2

    from core.face.landmarks import mouth_opening
    from core.face.rig import detect_landmarks

    out = []
    for f in frames:
        big = f if f.shape[0] >= 256 else cv2.resize(f, (256, 256), interpolation=cv2.INTER_CUBIC)
        faces = detect_landmarks(np.ascontiguousarray(big))
        out.append(mouth_opening(faces[0]) if faces else np.nan)
    return np.array(out)


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 5 or np.std(a[ok]) < 1e-6 or np.std(b[ok]) < 1e-6:
        return None
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _generator(seed: int, device):
    """Sampling noise from a seeded generator on the sampling device (reproducible per device)."""
    import torch

    return torch.Generator(device=torch.device(device)).manual_seed(seed)


def render_heldout(pipe, clip, n_max: int | None = None, cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, generated crops) for the held-out tail of one clip."""
    import torch

    from core.render.diffusion.conditioning import audio_windows

    cfg, dev = pipe.config, pipe.device
    idx = clip.val_index()[:n_max] if n_max else clip.val_index()
    if len(idx) == 0:
        return idx, np.zeros((0, cfg.resolution, cfg.resolution, 3), np.uint8)
    ref = pipe.encode(np.asarray(clip.reference)[None])
    aud = torch.from_numpy(audio_windows(np.asarray(clip.audio), cfg.audio_window, cfg.audio_mean,
                                         cfg.audio_std)).to(dev)
    gen = _generator(0, dev)
    prev, out = None, []
    for s in range(0, len(idx), pipe.sampling.batch):
        if cancel is not None:
            cancel.check()
        ii = idx[s:s + pipe.sampling.batch]
        lat = pipe.sample(ref, pipe.encode(np.asarray(clip.motion[ii])), prev, aud[ii],
                          torch.from_numpy(np.asarray(clip.emotion[ii], np.float32)).to(dev),
                          torch.from_numpy(np.asarray(clip.text[ii], np.float32)).to(dev),
                          torch.from_numpy(np.asarray(clip.has_text[ii])), generator=gen, cancel=cancel)
        prev = lat[-1:]
        out.append(pipe.decode(lat))
    return idx, np.concatenate(out)


def heldout(pipe, clips, n_max: int | None = None, mouth: bool = True, cancel=None) -> tuple[dict, dict | None]:
    """Scores of the avatar and of the mesh renderer on the held-out frames, and the frames."""
    gen_all, real_all, mesh_all, still_all = [], [], [], []
    for c in clips:
        idx, g = render_heldout(pipe, c, n_max, cancel)
        if len(idx) == 0:
            continue
        gen_all.append(g)
        real_all.append(np.asarray(c.frames[idx]))
        mesh_all.append(np.asarray(c.motion[idx]))
        still_all.append(np.broadcast_to(np.asarray(c.reference), (len(idx),) + c.reference.shape))
    if not gen_all:
        return {}, None
    g, r, m = np.concatenate(gen_all), np.concatenate(real_all), np.concatenate(mesh_all)
    still = np.concatenate(still_all)

    def score(fn, x):
        return float(np.mean([fn(a, b) for a, b in zip(x, r)]))

    # "still": the reference crop unchanged: the floor any renderer must clear (a face
    # that does not move scores well on PSNR/SSIM when the speaker moves little)
    out = {"frames": int(len(g)),
           "psnr": round(score(psnr, g), 3), "ssim": round(score(ssim, g), 4),
           "mesh_psnr": round(score(psnr, m), 3), "mesh_ssim": round(score(ssim, m), 4),
           "still_psnr": round(score(psnr, still), 3), "still_ssim": round(score(ssim, still), 4)}
    if mouth and pipe.config.resolution >= MOUTH_MIN_RES:
        real_m = mouth_series(r)
        out["mouth_corr"] = correlation(mouth_series(g), real_m)
        out["mesh_mouth_corr"] = correlation(mouth_series(m), real_m)
    return out, {"diffusion": g, "real": r, "mesh": m}


def contact_sheet(frames: dict, every: int = 1, scale: int = 4) -> np.ndarray:
    """Rows real / mesh / diffusion of the held-out frames, enlarged (nearest) for viewing."""
    rows = [np.concatenate(list(frames[k][::every]), 1) for k in ("real", "mesh", "diffusion")]
    sheet = np.concatenate(rows, 0)
    return np.repeat(np.repeat(sheet, scale, 0), scale, 1)
