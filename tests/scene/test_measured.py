"""Each action, rendered on the sample portrait and measured with independent landmarks.

The same A2M motion (3 s of the sample narration) is rendered by the mesh
renderer at 256 px with and without a scene description over 0.5-2.5 s;
mediapipe's face mesh is re-run on the rendered frames and simple geometric
measures are compared. Nothing here reads the motion track's own numbers.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.face import landmarks as L
from core.face.rig import detect_landmarks, load_rig
from core.render.mesh import MeshRenderer
from core.tracks import Alignment, EmotionTrack, SceneSegment, SceneTrack

FPS = 25.0
FRAMES = list(range(22, 56, 3))  # 0.9-2.2 s: inside the segment, past the fade-in


@pytest.fixture(scope="module")
def setup(sample_image, short_audio):
    from core.io.audio import load_audio
    from core.pipeline import build_motion, n_frames_for
    from core.speech.features import analyse_audio

    rig = load_rig(sample_image)
    size = int(os.environ.get("SCENE_TEST_SIZE", "256"))
    r = MeshRenderer(size=size)
    r.prepare(rig, size)
    audio = load_audio(short_audio)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    n = n_frames_for(audio.duration, FPS)

    def motion(text: str | None):
        scenes = SceneTrack([SceneSegment(0.5, 2.5, text)] if text else [])
        return build_motion(feats, Alignment(), EmotionTrack.neutral(n, FPS), scenes, FPS, n, 0, [])

    def measure(text: str | None) -> list[np.ndarray]:
        m = motion(text)
        out = []
        for i in FRAMES:
            crop = r.render_crop(m.weights[i], m.head[i], m.gaze[i])
            faces = detect_landmarks(crop)
            assert faces, f"no face found in the rendered frame {i} for {text!r}"
            out.append(faces[0])
        return out

    cache: dict = {}

    def get(text):
        if text not in cache:
            cache[text] = measure(text)
        return cache[text]

    return get


def _eye_dist(p):
    return np.linalg.norm(p[33, :2] - p[263, :2])


def pitch_proxy(p):
    """Nose tip height between the eye line and the chin: falls when the chin lifts."""
    eye_y = (p[33, 1] + p[263, 1]) / 2
    return (p[L.NOSE_TIP, 1] - eye_y) / (p[L.CHIN, 1] - eye_y)


def yaw_proxy(p):
    """Nose tip across the face (+ = towards image-right = subject's left)."""
    return (p[L.NOSE_TIP, 0] - (p[234, 0] + p[454, 0]) / 2) / (p[454, 0] - p[234, 0])


def iris_proxy(p):
    """Iris centres within their eyes (+ = towards image-right = subject's left)."""
    r = (p[468, 0] - (p[33, 0] + p[133, 0]) / 2) / abs(p[133, 0] - p[33, 0])
    l_ = (p[473, 0] - (p[263, 0] + p[362, 0]) / 2) / abs(p[263, 0] - p[362, 0])
    return (r + l_) / 2


def corner_lift(p):
    """How far the mouth corners sit above the lip centre, per eye distance."""
    mid_y = (p[L.INNER_UPPER_MID, 1] + p[L.INNER_LOWER_MID, 1]) / 2
    return (mid_y - (p[61, 1] + p[291, 1]) / 2) / _eye_dist(p)


def brow_height(p):
    return ((p[159, 1] - p[105, 1]) + (p[386, 1] - p[334, 1])) / 2 / _eye_dist(p)


def mean(frames, fn):
    return float(np.mean([fn(p) for p in frames]))


def test_nod_raises_pitch_spread(setup):
    base = np.std([pitch_proxy(p) for p in setup(None)])
    nod = np.std([pitch_proxy(p) for p in setup("nods")])
    # measured 1.6x at 256 px, 1.5x at 512 px
    assert nod > 1.3 * base, (base, nod)


def test_looks_left_turns_to_the_subjects_left(setup):
    base, left = setup(None), setup("looks left")
    right = setup("looks to the right")
    # measured at 256 px: nose +0.10 / -0.09 of the face width
    assert mean(left, yaw_proxy) > mean(base, yaw_proxy) + 0.05
    assert mean(right, yaw_proxy) < mean(base, yaw_proxy) - 0.05
    # the irises lead: at 256 px mediapipe's iris fit reads the left turn weakly, so
    # compare the two directions (measured 0.046 apart at 256 px, 0.083 at 512 px)
    assert mean(left, iris_proxy) > mean(right, iris_proxy) + 0.03


def test_smile_raises_the_mouth_corners(setup):
    base, smile = mean(setup(None), corner_lift), mean(setup("smiles broadly"), corner_lift)
    frown = mean(setup("frowns"), corner_lift)
    assert smile > base + 0.02 and frown < base - 0.01, (base, smile, frown)


def test_closed_eyes_drop_the_eye_aspect_ratio(setup):
    base = mean(setup(None), L.eye_aspect_ratio)
    closed = mean(setup("closes her eyes"), L.eye_aspect_ratio)
    half = mean(setup("eyes half-closed"), L.eye_aspect_ratio)
    # measured at 256 px: 0.335 -> 0.258 closed, 0.246 half-closed; at 512 px 0.331 -> 0.201 / 0.207.
    # Full closure reads no lower than half: the mesh renderer's closed lid is not seen as
    # fully shut by the face mesh (a renderer limit, see docs/scenes.md).
    assert closed < 0.85 * base and half < 0.85 * base, (base, half, closed)


def test_raised_brows_go_up(setup):
    base, up = mean(setup(None), brow_height), mean(setup("raises her eyebrows"), brow_height)
    assert up > base + 0.02, (base, up)
