"""A2M lip-sync on the dev clips: our rendered mouth vs the real speaker's, next to baselines.

Self-reenactment: the clip's first frame is the portrait, its audio the
narration, rendered at the clip's frame rate. mediapipe (core.eval) measures
the mouth opening (inner-lip gap / eye-corner distance) on both videos; the
figure is the Pearson r at the best lag within +-4 frames (positive lag =
ours is late). Baselines are computed the same way against the real mouth:
the audio loudness envelope, and a naive per-phone openness curve from the
same forced alignment (vowel 1, consonant 0.3, p/b/m 0, silence 0).

Variants per clip: with the transcript (forced alignment), without it
(speech to text -> alignment; the recognised script is what is used), and
the language-independent acoustic mouth (no words at all). Also: the share
of aligned p/b/m at which our rendered gap is below 20% of our 90th
percentile gap, blink rate and head-motion spread of ours vs the real clip.

Acoustic mouth model (no words): on each clip, the model's predicted
opening (jaw_open x (1 - lip_close), straight from the track, no render)
against the real mouth next to loudness; and on two synthesised non-English
utterances (espeak-ng German and Spanish, sentences never used in
training) against the ground truth the phone events give (the same viseme
model on espeak's own phones), with the best lag; plus the model's
inference time on 15 s and 10 min of audio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TITLE = "A2M lip-sync on the dev clips"
MAX_LAG = 4

# Transcripts for the "with script" runs. Obtained by speech to text (whisper
# tiny.en) and accepted by forced alignment (docs/a2m.md); lp_d10 has no
# recognisable English words (music), so it has no script run.
CLIPS = {
    "hdtf_KatieHill_000": (
        "congressional district and I'm currently in DC for my second week of new member "
        "orientation. In addition to learning where things are and how to use the tunnels."
    ),
    "lp_d10": None,
}

VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


def clip_path(name: str) -> Path:
    from bench.common import SHARED_DATA

    return SHARED_DATA / "clips" / f"{name}.mp4"


def naive_phone_curve(alignment, fps: float, n: int) -> np.ndarray:
    """Vowel 1, consonant 0.3, p/b/m 0, silence 0 at each frame's middle."""
    t = (np.arange(n) + 0.5) / fps
    out = np.zeros(n)
    for p in alignment.phones:
        lab = p.label.upper()
        v = 1.0 if lab in VOWELS else 0.0 if lab in ("SIL", "P", "B", "M") else 0.3
        out[(t >= p.start) & (t < p.end)] = v
    return out


@dataclass
class Real:
    """What the real clip shows (measured once per clip)."""

    opening: np.ndarray
    fps: float
    motion: dict
    first: Path
    wav: Path


@dataclass
class Variant:
    name: str
    corr: float
    lag: int
    bilabial_rate: float | None
    bilabial_count: int | None
    motion: dict
    source: str
    script: str
    extras: dict = field(default_factory=dict)
    opening: np.ndarray | None = None     # our rendered mouth opening per frame (eye widths)


def motion_stats(points: np.ndarray, fps: float) -> dict:
    from core.eval.motion import angle_std, count_blinks, eye_openness, head_angles

    ys, ps, rs = angle_std(head_angles(points))
    minutes = len(points) / fps / 60
    return {"yaw_std_deg": ys, "pitch_std_deg": ps, "roll_std_deg": rs,
            "blinks_per_min": count_blinks(eye_openness(points)) / minutes if minutes else 0.0}


def measure_real(name: str, work: Path) -> Real:
    import cv2

    from core.eval.landmarks import track_video
    from core.eval.lipsync import mouth_opening
    from core.io.ffmpeg import run_ffmpeg
    from core.io.video import iter_frames

    clip = clip_path(name)
    work.mkdir(parents=True, exist_ok=True)
    first, wav = work / "first.png", work / "audio.wav"
    frame = next(iter(iter_frames(clip)))
    cv2.imwrite(str(first), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    run_ffmpeg(["-y", "-i", str(clip), "-vn", "-ac", "1", "-ar", "16000", str(wav)], check=True)
    lm = track_video(clip)
    return Real(mouth_opening(lm.points), lm.fps, motion_stats(lm.points, lm.fps), first, wav)


def render_variant(real: Real, script: str | None, work: Path, tag: str, *,
                   acoustic: bool = False, seed: int = 0):
    """Analyse + render one variant; returns (video path, tracks, audio features)."""
    from core.pipeline import RenderRequest, analyse, build_motion, render_tracks
    from core.speech.features import analyse_audio
    from core.tracks import Alignment

    out = work / f"{tag}.mp4"
    req = RenderRequest(image=real.first, audio=real.wav, script=script, output=out,
                        fps=real.fps, seed=seed, cache_root=work / "cache")
    rig, audio, tracks = analyse(req)
    feats = analyse_audio(audio.samples, audio.sample_rate)
    if acoustic:
        tracks.motion = build_motion(feats, Alignment(source="energy"), tracks.emotion, tracks.scenes,
                                     tracks.fps, tracks.motion.n_frames, seed)
    render_tracks(rig, tracks, real.wav, out)
    tracks.save(work / f"{tag}.tracks.json")
    return out, tracks, feats, audio


def measure_variant(real: Real, name: str, script: str | None, work: Path, *,
                    acoustic: bool = False) -> tuple[Variant, dict]:
    """Render and measure; also returns the baselines for this variant's alignment."""
    from core.eval.landmarks import track_video
    from core.eval.lipsync import (best_lag_corr, bilabial_closure, loudness_envelope, mouth_opening,
                                   opening_spread)

    t0 = time.perf_counter()
    video, tracks, feats, audio = render_variant(real, script, work, name, acoustic=acoustic)
    seconds = time.perf_counter() - t0
    lm = track_video(video)
    ours = mouth_opening(lm.points)
    n = min(len(ours), len(real.opening))
    r, lag = best_lag_corr(ours[:n], real.opening[:n], MAX_LAG)
    al = tracks.alignment
    rate, count = bilabial_closure(ours, al if al.phones and not acoustic else None, real.fps)
    source = "none (acoustic mouth)" if acoustic or not al.phones else al.source
    finite = ours[np.isfinite(ours)]
    v = Variant(name, r, lag, rate, count, motion_stats(lm.points, real.fps), source, al.script,
                {"render_s": round(seconds, 1), "mouth_spread": opening_spread(ours),
                 "mouth_median": float(np.median(finite)) if finite.size else float("nan")}, ours)
    base = {}
    loud = loudness_envelope(audio.samples, audio.sample_rate, real.fps, n)
    base["loudness"] = best_lag_corr(loud, real.opening[:n], MAX_LAG)
    if al.phones:
        base["naive_phones"] = best_lag_corr(naive_phone_curve(al, real.fps, n), real.opening[:n], MAX_LAG)
    return v, base


def measure_clip(name: str, work: Path) -> dict:
    real = measure_real(name, work)
    out = {"real": real, "variants": [], "baselines": {}, "acoustic_track": acoustic_track(real)}
    runs = []
    if CLIPS.get(name):
        runs.append(("script", CLIPS[name], False))
    runs += [("no_script", None, False), ("acoustic", None, True)]
    for tag, script, acoustic in runs:
        v, base = measure_variant(real, tag, script, work, acoustic=acoustic)
        out["variants"].append(v)
        for k, val in base.items():
            out["baselines"].setdefault(k, val)
    return out


def _opening(curves: dict) -> np.ndarray:
    """One mouth-opening figure from the speech units: the jaw, less where the lips are shut."""
    return np.asarray(curves["jaw_open"], np.float64) * (1 - np.asarray(curves["lip_close"], np.float64))


def _loudness_curve(samples: np.ndarray, sr: int, fps: float, n: int) -> np.ndarray:
    from core.eval.lipsync import loudness_envelope

    return loudness_envelope(samples, sr, fps, n)


def acoustic_synth(fps: float = 25.0) -> list[dict]:
    """Model vs loudness on espeak-ng German and Spanish (held out of training).

    Ground truth: the viseme model on the phones espeak reports it spoke
    (exact timing, no aligner), i.e. what the script path would draw.
    """
    from core.eval.lipsync import best_lag_corr
    from core.motion.acoustic_mouth import mouth_curves
    from core.motion.acoustic_train import ESPEAK_HELDOUT
    from core.motion.espeak_phones import synthesise
    from core.motion.visemes import coarticulate, jaw_loudness
    from core.speech.features import analyse_audio

    rows = []
    for lang, texts in ESPEAK_HELDOUT.items():
        u = synthesise(texts[0], lang)
        feat = analyse_audio(u.samples, 16000)
        n = int(len(u.samples) / 16000 * fps)
        truth = _opening(coarticulate(u.phones, n, fps, jaw_loudness(feat.rms_db, feat.voiced)))
        ours = _opening(mouth_curves(feat, fps, n))
        loud = _loudness_curve(u.samples, 16000, fps, n)
        rows.append({"name": f"espeak {lang}", "seconds": round(len(u.samples) / 16000, 1),
                     "model": best_lag_corr(ours, truth, MAX_LAG),
                     "loudness": best_lag_corr(loud, truth, MAX_LAG)})
    return rows


def acoustic_track(real: Real) -> dict:
    """The model's opening straight from the track vs the real mouth (no render)."""
    from core.eval.lipsync import best_lag_corr
    from core.io.audio import load_audio
    from core.motion.acoustic_mouth import mouth_curves
    from core.speech.features import analyse_audio

    au = load_audio(real.wav)
    feat = analyse_audio(au.samples, au.sample_rate)
    n = len(real.opening)
    ours = _opening(mouth_curves(feat, real.fps, n))
    loud = _loudness_curve(au.samples, au.sample_rate, real.fps, n)
    return {"model": best_lag_corr(ours, real.opening, MAX_LAG),
            "loudness": best_lag_corr(loud, real.opening, MAX_LAG)}


def acoustic_speed() -> dict:
    """Seconds the model adds to A2M for 15 s and 10 min of audio (features given)."""
    from core.motion.acoustic_mouth import load_model, mouth_curves
    from core.speech.features import N_MELS, AudioFeatures

    load_model()
    rng = np.random.default_rng(0)
    out = {}
    for label, seconds in (("15s", 15), ("10min", 600)):
        T = seconds * 100
        feat = AudioFeatures(100.0, rng.uniform(-60, -10, T).astype(np.float32),
                             rng.uniform(300, 4000, T).astype(np.float32), rng.uniform(0, 1, T).astype(np.float32),
                             rng.uniform(0, 1, T).astype(np.float32), rng.uniform(80, 300, T).astype(np.float32),
                             rng.random(T) > 0.3, rng.uniform(0, 0.5, T).astype(np.float32),
                             rng.uniform(-40, 40, (T, N_MELS)).astype(np.float16))
        t0 = time.perf_counter()
        mouth_curves(feat, 25.0, seconds * 25)
        out[label] = round(time.perf_counter() - t0, 3)
    return out


def _f(x, spec=".2f"):
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)


def run(out_dir: Path) -> dict:
    from bench.common import md_table

    figures: dict[str, float] = {}
    rows, motion_rows, notes, ac_rows = [], [], [], []
    for name in CLIPS:
        if not clip_path(name).exists():
            notes.append(f"{name}: clip not found (needs ../shared/data), skipped.")
            continue
        res = measure_clip(name, Path(out_dir) / "a2m_clips" / name)
        b = res["baselines"]
        lo = b.get("loudness", (None, None))
        nv = b.get("naive_phones", (None, None))
        for v in res["variants"]:
            rows.append([name, v.name, v.source, f"{_f(v.corr)} ({v.lag:+d})",
                         f"{_f(lo[0])} ({lo[1]:+d})" if lo[0] is not None else "–",
                         f"{_f(nv[0])} ({nv[1]:+d})" if nv[0] is not None else "–",
                         f"{_f(v.bilabial_rate)} of {v.bilabial_count}" if v.bilabial_count else "–"])
            figures[f"{name}.{v.name}.corr"] = round(float(v.corr), 3)
            figures[f"{name}.{v.name}.lag"] = int(v.lag)
            if v.bilabial_rate is not None:
                figures[f"{name}.{v.name}.bilabial"] = round(float(v.bilabial_rate), 3)
            m = v.motion
            motion_rows.append([name, v.name, _f(m["blinks_per_min"], ".1f"), _f(m["yaw_std_deg"]),
                                _f(m["pitch_std_deg"]), _f(m["roll_std_deg"])])
        if lo[0] is not None:
            figures[f"{name}.baseline_loudness.corr"] = round(float(lo[0]), 3)
        if nv[0] is not None:
            figures[f"{name}.baseline_phones.corr"] = round(float(nv[0]), 3)
        at = res["acoustic_track"]
        ac_rows.append([f"{name} (real mouth)", f"{_f(at['model'][0])} ({at['model'][1]:+d})",
                        f"{_f(at['loudness'][0])} ({at['loudness'][1]:+d})"])
        figures[f"{name}.acoustic_model_track.corr"] = round(float(at["model"][0]), 3)
        figures[f"{name}.acoustic_model_track.lag"] = int(at["model"][1])
        m = res["real"].motion
        motion_rows.append([name, "real speaker", _f(m["blinks_per_min"], ".1f"), _f(m["yaw_std_deg"]),
                            _f(m["pitch_std_deg"]), _f(m["roll_std_deg"])])
        figures[f"{name}.real.blinks_per_min"] = round(m["blinks_per_min"], 1)
    from core.motion.espeak_phones import available as espeak_available

    if espeak_available():
        for r in acoustic_synth():
            ac_rows.append([f"{r['name']} ({r['seconds']} s, phone ground truth)",
                            f"{_f(r['model'][0])} ({r['model'][1]:+d})",
                            f"{_f(r['loudness'][0])} ({r['loudness'][1]:+d})"])
            key = r["name"].replace(" ", "_")
            figures[f"{key}.acoustic_model.corr"] = round(float(r["model"][0]), 3)
            figures[f"{key}.acoustic_model.lag"] = int(r["model"][1])
            figures[f"{key}.loudness.corr"] = round(float(r["loudness"][0]), 3)
    else:
        notes.append("espeak-ng not available: synthesised non-English rows skipped (the espeakng-loader "
                     "dependency provides it: pip install espeakng-loader).")
    speed = acoustic_speed()
    figures.update({f"acoustic_model_seconds_{k}": v for k, v in speed.items()})
    md = [
        "Pearson r (best lag in ±4 frames; + = ours late) between the rendered and the real mouth "
        "opening (mediapipe inner-lip gap / eye-corner distance), self-reenactment from the first frame. "
        "Baselines use the same real mouth: the loudness envelope, and a naive per-phone curve from "
        "the same alignment (vowel 1, consonant 0.3, p/b/m and silence 0).",
        "",
        md_table(["clip", "run", "words from", "ours r (lag)", "loudness r (lag)", "naive phones r (lag)",
                  "p/b/m closed"], rows),
        "",
        md_table(["clip", "run", "blinks/min", "yaw std °", "pitch std °", "roll std °"], motion_rows),
        "",
        "Acoustic mouth model, opening (jaw x (1 - lip_close)) straight from the track, no render:",
        "",
        md_table(["audio (against)", "model r (lag)", "loudness r (lag)"], ac_rows),
        "",
        f"Model inference: {speed['15s']} s for 15 s of audio, {speed['10min']} s for 10 min (one process).",
    ] + ([""] + notes if notes else [])
    return {"title": TITLE, "markdown": "\n".join(md), "figures": figures}


if __name__ == "__main__":  # pragma: no cover
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/bench")
    res = run(out)
    print(res["markdown"])
    print(res["figures"])
