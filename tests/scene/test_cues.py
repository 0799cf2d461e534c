"""Cues change the motion track where and how the description says, and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from core.scene.cues import apply_scene_cues, frame_text_embeddings, segment_embeddings
from core.tracks import MotionTrack, SceneSegment, SceneTrack

FPS = 25.0


def run(text: str, n: int = 100, seg=(1.0, 3.0), base: MotionTrack | None = None):
    m = base if base is not None else MotionTrack.rest(n, FPS)
    msgs = apply_scene_cues(m, SceneTrack([SceneSegment(seg[0], seg[1], text)]), FPS)
    return m, msgs


def inside(a=1.0, b=3.0, n=100):
    t = (np.arange(n) + 0.5) / FPS
    return (t > a + 0.3) & (t < b - 0.3), (t < a) | (t > b)


def test_smile_raises_lip_corners_only_inside_the_segment():
    m, msgs = run("smiles warmly")
    mid, out = inside()
    # the smile is the learned happy face (shape + cheek folds) with the corners on top
    w, corners = m.unit("expr_happy"), m.unit("lip_corner_pull")
    assert msgs == [] and w[mid].min() > 0.5 and w[out].max() == 0
    assert corners[mid].min() > 0.3 and corners[out].max() == 0


def test_intensity_orders_the_weights():
    peak = {t: run(t)[0].unit("lip_corner_pull").max() for t in ("smiles slightly", "smiles", "smiles broadly")}
    assert peak["smiles slightly"] < peak["smiles"] < peak["smiles broadly"]


def test_negation_removes_what_the_emotion_put_there():
    base = MotionTrack.rest(100, FPS)
    base.unit("lip_corner_pull")[:] = 0.8
    m, _ = run("talks without smiling", base=base)
    mid, out = inside()
    w = m.unit("lip_corner_pull")
    assert w[mid].max() < 0.05 and np.allclose(w[out], 0.8)


def test_nod_adds_pitch_oscillation_and_look_left_turns_to_subjects_left():
    m, _ = run("nods")
    mid, out = inside()
    assert np.ptp(m.head[mid, 1]) > 4 and m.head[mid, 1].max() <= 0.01 and np.all(m.head[out, 1] == 0)
    m, _ = run("looks left")
    assert m.gaze[mid, 0].min() > 0.3 and m.head[mid, 0].min() > 5  # +x / +yaw = subject's left
    m, _ = run("looks to the right")
    assert m.gaze[mid, 0].max() < -0.3 and m.head[mid, 0].max() < -5


def test_sequence_then_splits_the_segment():
    m, _ = run("looks away, then raises her eyebrows", seg=(0.0, 4.0))
    t = (np.arange(100) + 0.5) / FPS
    first, second = (t > 0.4) & (t < 1.6), (t > 2.4) & (t < 3.6)
    brows = m.unit("brow_inner_up")
    assert abs(m.gaze[first, 0]).min() > 0.2 and brows[first].max() < 0.05
    assert brows[second].min() > 0.5 and abs(m.gaze[second, 0]).max() < 0.05


def test_closed_eyes_and_attributes_hold():
    m, _ = run("closes her eyes")
    mid, _ = inside()
    assert m.unit("eye_blink")[mid].min() > 0.95
    m, _ = run("eyes half-closed, mouth slightly open")
    assert 0.3 < m.unit("eye_blink")[mid].min() < 0.8 and m.unit("jaw_open")[mid].min() > 0.1


def test_unknown_wishes_are_reported_not_dropped():
    m, msgs = run("smiles and juggles")
    assert any("could not map 'juggles'" in s for s in msgs)
    assert m.unit("expr_happy").max() > 0.5


def test_a_wink_closes_the_named_eye_only():
    m, msgs = run("winks with her right eye")
    assert msgs == [] and m.unit("wink_right").max() > 0.9
    assert m.unit("wink_left").max() == 0 and m.unit("eye_blink").max() == 0
    m, _ = run("gives a wink")
    assert m.unit("wink_left").max() > 0.9 and m.unit("wink_right").max() == 0


def test_every_action_changes_the_track():
    from core.scene.actions import ACTIONS

    rest = MotionTrack.rest(100, FPS)
    for a in ACTIONS:
        m, _ = run(a.phrases[0])
        changed = (not np.array_equal(m.weights, rest.weights) or not np.array_equal(m.head, rest.head)
                   or not np.array_equal(m.gaze, rest.gaze))
        assert changed or a.name == "calm", a.name
    # calm settles existing head motion
    base = MotionTrack.rest(100, FPS)
    base.head[:, 0] = 5 * np.sin(np.arange(100) / 2.0)
    before = np.ptp(base.head[35:65, 0])
    m, _ = run("keeps still, calm", base=base)
    assert np.ptp(m.head[35:65, 0]) < 0.5 * before


def test_segment_embeddings_for_text_conditioning():
    scenes = SceneTrack([SceneSegment(0, 1, "smiles"), SceneSegment(1, 2, "nods slowly")])
    e = segment_embeddings(scenes)
    assert e.shape == (2, 384)
    per_frame, mask = frame_text_embeddings(scenes, 75, FPS)
    assert per_frame.shape == (75, 384) and mask[:50].all() and not mask[50:].any()
    assert np.allclose(per_frame[10], e[0]) and np.allclose(per_frame[30], e[1])


def test_pipeline_build_motion_applies_cues(short_audio):
    from core.io.audio import load_audio
    from core.pipeline import build_motion, n_frames_for
    from core.speech.features import analyse_audio
    from core.tracks import Alignment, EmotionTrack

    audio = load_audio(short_audio)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    n = n_frames_for(audio.duration, FPS)
    emo = EmotionTrack.neutral(n, FPS)
    plain = build_motion(feats, Alignment(), emo, SceneTrack(), FPS, n, 0)
    warnings: list[str] = []
    cued = build_motion(feats, Alignment(), emo, SceneTrack([SceneSegment(0.5, 2.5, "smiles and juggles")]),
                        FPS, n, 0, warnings)
    i = int(1.5 * FPS)
    assert cued.unit("lip_corner_pull")[i] > plain.unit("lip_corner_pull")[i] + 0.4
    assert any("juggles" in w for w in warnings)
