"""Per-frame conditioning signals as plain numpy arrays (no torch here).

The same functions feed training (from the footage) and rendering (from the
narration and the tracks), so the model sees identical feature definitions
in both places.
"""

from __future__ import annotations

import numpy as np

from core.render.diffusion.config import AUDIO_FEATURES, AUDIO_SUBSTEPS, EMOTION_DIM, TEXT_DIM
from core.tracks import EMOTIONS, EmotionTrack, SceneTrack


def audio_frame_features(feats, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames, AUDIO_SUBSTEPS, 6) raw features sampled inside each video frame.

    Several 100 Hz samples per frame keep the timing of lip closures that a
    single 40 ms average would smear.
    """
    cols = [np.asarray(getattr(feats, name), np.float32) for name in AUDIO_FEATURES]
    cols[1] = cols[1] / 1000.0  # centroid in kHz
    cols[4] = cols[4] / 100.0   # f0 in hundreds of Hz
    series = np.stack(cols, 1)  # (N, 6)
    t = (np.arange(n_frames)[:, None] + (np.arange(AUDIO_SUBSTEPS)[None, :] + 0.5) / AUDIO_SUBSTEPS) / fps
    idx = np.clip((t * feats.rate).astype(int), 0, max(0, len(series) - 1))
    if len(series) == 0:
        return np.zeros((n_frames, AUDIO_SUBSTEPS, len(AUDIO_FEATURES)), np.float32)
    return series[idx].astype(np.float32)


def audio_stats(frames: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-column mean and std over a training set's (T, S, 6) features."""
    flat = frames.reshape(-1, frames.shape[-1]).astype(np.float64)
    return tuple(float(x) for x in flat.mean(0)), tuple(float(max(x, 1e-3)) for x in flat.std(0))


def audio_windows(frames: np.ndarray, window: int, mean, std) -> np.ndarray:
    """(T, 2W+1, S*6) normalised tokens around every frame (edges repeat)."""
    z = (frames - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    z = z.reshape(len(frames), -1)
    pad = np.pad(z, ((window, window), (0, 0)), mode="edge")
    idx = np.arange(len(frames))[:, None] + np.arange(2 * window + 1)[None, :]
    return pad[idx].astype(np.float32)


def emotion_vectors(track: EmotionTrack | None, n_frames: int) -> np.ndarray:
    """(T, 11): valence, arousal, intensity, then probabilities in EMOTIONS order."""
    out = np.zeros((n_frames, EMOTION_DIM), np.float32)
    out[:, 3] = 1.0  # neutral
    if track is None or track.n_frames == 0:
        return out
    idx = np.clip(np.arange(n_frames), 0, track.n_frames - 1)
    out[:, 0] = track.valence[idx]
    out[:, 1] = track.arousal[idx]
    out[:, 2] = track.intensity[idx]
    probs = np.zeros((n_frames, len(EMOTIONS)), np.float32)
    for j, name in enumerate(track.classes):
        if name in EMOTIONS:
            probs[:, EMOTIONS.index(name)] = np.asarray(track.probs)[idx, j]
    out[:, 3:] = probs
    return out


def text_vectors(scenes: SceneTrack | None, fps: float, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 384) scene-text embedding per frame and (T,) whether a segment covers it.

    The encoder is ``core.scene.encoder.embed_texts``; without it the text is
    treated as absent (the model's learned null text), never as fake zeros
    pretending to be text.
    """
    emb = np.zeros((n_frames, TEXT_DIM), np.float32)
    has = np.zeros(n_frames, bool)
    segs = [s for s in (scenes.segments if scenes else []) if s.text.strip()]
    if not segs:
        return emb, has
    from core.scene.encoder import embed_texts   # part of the install: a failure here is a real error

    vecs = embed_texts([s.text for s in segs])
    t = (np.arange(n_frames) + 0.5) / fps
    for s, v in zip(segs, vecs):
        m = (t >= s.start) & (t < s.end)
        emb[m] = v
        has[m] = True
    return emb, has
