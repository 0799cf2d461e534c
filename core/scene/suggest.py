"""Suggest scene descriptions for a narration: segments, a writer, validation, fallback.

The narration is cut at sentence boundaries (word timings when the
alignment has them, else the script's sentences spread over the audio in
proportion to their length), very short sentences are merged and long ones
split, and each segment gets one line from the chosen backend. Every line
is validated (length, no speech content, only actions the cue mapper can
show); an invalid line is replaced by the deterministic rules writer's.

The app calls ``suggest_scenes`` from a worker thread: it reports progress
per segment and stops at the next segment when the cancel token is set.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from core.errors import UserInputError
from core.progress import CancelToken, Progress, no_progress
from core.scene.backends import (
    BackendConfig, BackendUnavailable, GemmaBackend, OpenAIBackend, RulesWriter, SegmentContext,
    gemma_status,
)
from core.tracks import Alignment, EmotionTrack, SceneSegment

MIN_SEG_S = 1.2
MAX_SEG_S = 8.0
MAX_LINE_CHARS = 100
MAX_LINE_WORDS = 14
_SPEECH_VERBS = re.compile(r"\b(?:says?|said|saying|asks?|asked|tells?|told|speaks?|spoke|replies|replied|"
                           r"announces?|reads?|shouts?|whispers?|mentions?|explains?|talks?\s+about)\b")
_STOP = {"the", "and", "that", "this", "with", "have", "from", "they", "what", "were", "your", "about",
         "there", "their", "would", "could", "should", "which", "when", "then", "just", "been", "will",
         "head", "eyes", "brows", "eyebrows", "smile", "smiles", "look", "looks", "camera", "slightly",
         "left", "right", "down", "away", "back"}


@dataclass
class SuggestReport:
    segments: list[SceneSegment]
    backend: str
    notes: list[str] = field(default_factory=list)
    seconds_per_segment: list[float] = field(default_factory=list)


# -- segmentation --------------------------------------------------------------------

def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n{2,}", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _norm_word(w: str) -> str:
    return re.sub(r"[^a-z0-9']", "", w.lower().replace("\u2019", "'"))


def _word_sentences(alignment: Alignment) -> list[tuple[float, float, str]]:
    """Sentences with times from aligned words; punctuation comes from the script."""
    tokens = re.findall(r"\S+", alignment.script or "")
    words = alignment.words
    out: list[tuple[float, float, str]] = []
    cur: list = []
    ti = 0
    for k, w in enumerate(words):
        text = w.text
        end_here = False
        key = _norm_word(w.text)
        for look in range(ti, min(ti + 4, len(tokens))):
            if _norm_word(tokens[look]) == key:
                text, ti = tokens[look], look + 1
                end_here = bool(re.search(r"[.!?][\"')\]]*$", tokens[look]))
                break
        cur.append((w, text))
        gap = words[k + 1].start - w.end if k + 1 < len(words) else 0.0
        if end_here or gap > 0.8 or k + 1 == len(words):
            out.append((cur[0][0].start, cur[-1][0].end, " ".join(t for _, t in cur)))
            cur = []
    return out


def _spread_sentences(script: str, duration: float) -> list[tuple[float, float, str]]:
    """No word timings: sentences over the whole narration in proportion to their length."""
    sents = _sentences(script)
    if not sents:
        n = max(1, int(round(duration / 4.0)))
        edges = np.linspace(0, duration, n + 1)
        return [(float(a), float(b), "") for a, b in zip(edges, edges[1:])]
    lengths = np.array([max(1, len(s)) for s in sents], np.float64)
    edges = np.concatenate([[0], np.cumsum(lengths)]) / lengths.sum() * duration
    return [(float(a), float(b), s) for a, b, s in zip(edges, edges[1:], sents)]


def plan_segments(script: str | None, alignment: Alignment | None, duration: float) -> list[tuple[float, float, str]]:
    """Ordered, touching (start, end, words) covering [0, duration]."""
    if duration <= 0:
        raise UserInputError("the narration is empty.", None, "Use an audio file with speech.")
    if alignment is not None and alignment.words:
        spans = _word_sentences(alignment)
    else:
        spans = _spread_sentences(script or (alignment.script if alignment else "") or "", duration)
    merged: list[list] = []
    for a, b, s in spans:
        if merged and (b - a < MIN_SEG_S or merged[-1][1] - merged[-1][0] < MIN_SEG_S):
            merged[-1][1] = b
            merged[-1][2] = (merged[-1][2] + " " + s).strip()
        else:
            merged.append([a, b, s])
    out: list[tuple[float, float, str]] = []
    for a, b, s in merged:
        k = int(np.ceil((b - a) / MAX_SEG_S))
        if k <= 1:
            out.append((a, b, s))
            continue
        ws = s.split()
        for j in range(k):
            part = " ".join(ws[len(ws) * j // k: len(ws) * (j + 1) // k])
            out.append((a + (b - a) * j / k, a + (b - a) * (j + 1) / k, part))
    # touching segments from 0 to the end: boundaries at the middle of pauses
    bounds = [0.0] + [(out[i][1] + out[i + 1][0]) / 2 for i in range(len(out) - 1)] + [duration]
    return [(round(bounds[i], 2), round(bounds[i + 1], 2), out[i][2]) for i in range(len(out))
            if bounds[i + 1] - bounds[i] > 0.05]


def _emotion_of(emotion: EmotionTrack | None, a: float, b: float) -> tuple[str, float, float, float]:
    if emotion is None or emotion.n_frames == 0:
        return "neutral", 0.0, 0.0, 0.0
    i0 = int(np.clip(np.floor(a * emotion.fps), 0, emotion.n_frames - 1))
    i1 = int(np.clip(np.ceil(b * emotion.fps), i0 + 1, emotion.n_frames))
    probs = emotion.probs[i0:i1].mean(0)
    label = emotion.classes[int(np.argmax(probs))]
    return (label, float(emotion.intensity[i0:i1].mean()), float(emotion.valence[i0:i1].mean()),
            float(emotion.arousal[i0:i1].mean()))


def contexts(script: str | None, alignment: Alignment | None, emotion: EmotionTrack | None,
             duration: float) -> list[SegmentContext]:
    spans = plan_segments(script, alignment, duration)
    out = []
    for i, (a, b, words) in enumerate(spans):
        label, inten, val, aro = _emotion_of(emotion, a, b)
        out.append(SegmentContext(a, b, words, label, inten, val, aro, i, len(spans)))
    return out


# -- validation ------------------------------------------------------------------------

def clean_line(raw: str) -> str:
    """First line, without labels, bullets, quotes around it or a final full stop."""
    line = next((ln for ln in str(raw).strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", line)
    line = re.sub(r"^\s*(?:behaviou?r|description|scene|action|answer)\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip("\"'\u201c\u201d`").strip()
    line = re.sub(r"^(?:she|he|they|the speaker|the narrator|speaker)\s+", "", line, flags=re.I)
    return line.rstrip(". ").strip()


def validate_line(line: str, ctx: SegmentContext | None = None) -> str:
    """'' if the line is usable, else why not (short, for the notes)."""
    if len(line) < 3:
        return "empty"
    if len(line) > MAX_LINE_CHARS or len(line.split()) > MAX_LINE_WORDS:
        return "too long"
    if re.search(r"[\"\u201c\u201d:]", line):
        return "contains a quotation"
    if _SPEECH_VERBS.search(line.lower()):
        return "describes speech"
    if ctx is not None and ctx.words:
        spoken = {_norm_word(w) for w in ctx.words.split()}
        content = [_norm_word(w) for w in line.split()]
        content = [w for w in content if len(w) > 3 and w not in _STOP]
        if sum(w in spoken for w in content) >= 2:
            return "repeats the spoken words"
    from core.scene.parse import parse_description

    parsed = parse_description(line)
    if parsed.unmapped:
        return f"cannot show '{parsed.unmapped[0]}'"
    if not parsed.cues:
        return "no visible action"
    return ""


# -- backends and the loop ------------------------------------------------------------

def make_backend(config: BackendConfig, cancel: CancelToken | None = None, notes: list[str] | None = None):
    """The writer for ``config.kind``; 'auto' tries the local server, then Gemma, then rules."""
    notes = notes if notes is not None else []
    kind = (config.kind or "auto").lower()
    if kind not in ("auto", "openai", "gemma", "rules"):
        raise UserInputError(f"unknown suggestion backend '{config.kind}'.", None,
                             "Use auto, openai, gemma or rules.")
    if kind == "rules":
        return RulesWriter(config, cancel)
    if kind == "openai":
        b = OpenAIBackend(config, cancel)
        try:
            b.probe(min(config.timeout, 5.0))
        except BackendUnavailable as exc:
            raise UserInputError(str(exc), None, "") from None
        return b
    if kind == "gemma":
        try:
            return GemmaBackend(config, cancel)
        except BackendUnavailable as exc:
            raise UserInputError(str(exc), None, "Or use --backend rules (always available).") from None
    try:  # auto
        b = OpenAIBackend(config, cancel)
        b.probe(1.5)
        return b
    except (BackendUnavailable, UserInputError) as exc:
        notes.append(f"local LLM server: {exc}")
    why = gemma_status()
    if not why:
        return GemmaBackend(config, cancel)
    notes.append(f"bundled LLM: {why}.")
    notes.append("using the rules writer.")
    return RulesWriter(config, cancel)


def _line_for(backend, ctx: SegmentContext, notes: list[str]) -> tuple[str, str]:
    """(line, source) with validation and fallback to rules."""
    rules = RulesWriter()
    if isinstance(backend, RulesWriter):
        return clean_line(backend.describe(ctx)), "auto"
    try:
        raw = backend.describe(ctx)
    except BackendUnavailable as exc:
        notes.append(f"{ctx.start:.1f}-{ctx.end:.1f} s: {exc} Used the rules writer.")
        return clean_line(rules.describe(ctx)), "auto"
    line = clean_line(raw)
    why = validate_line(line, ctx)
    if why:
        notes.append(f"{ctx.start:.1f}-{ctx.end:.1f} s: the {backend.name} line '{_clip(line)}' was rejected "
                     f"({why}); used the rules writer.")
        return clean_line(rules.describe(ctx)), "auto"
    return line, "llm"


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def suggest_report(script: str | None, alignment: Alignment | None, emotion: EmotionTrack | None,
                   duration: float, backend_config: BackendConfig | None = None, *,
                   progress: Progress | None = None, cancel: CancelToken | None = None) -> SuggestReport:
    """Like ``suggest_scenes`` but also says which backend wrote, what was rejected, and how long each took."""
    progress = progress or no_progress
    cancel = cancel or CancelToken()
    config = backend_config or BackendConfig()
    notes: list[str] = []
    ctxs = contexts(script, alignment, emotion, duration)
    progress("scenes", 0, len(ctxs))
    backend = make_backend(config, cancel, notes)
    segments, times = [], []
    for k, ctx in enumerate(ctxs):
        cancel.check()
        t0 = time.perf_counter()
        line, source = _line_for(backend, ctx, notes)
        times.append(round(time.perf_counter() - t0, 4))
        segments.append(SceneSegment(ctx.start, ctx.end, line, source))
        progress("scenes", k + 1, len(ctxs))
    return SuggestReport(segments, backend.name, notes, times)


def suggest_scenes(script: str | None, alignment: Alignment | None, emotion: EmotionTrack | None,
                   duration: float, backend_config: BackendConfig | None = None, *,
                   progress: Progress | None = None, cancel: CancelToken | None = None) -> list[SceneSegment]:
    """One validated scene line per sentence-sized segment of the narration (ordered, touching)."""
    return suggest_report(script, alignment, emotion, duration, backend_config,
                          progress=progress, cancel=cancel).segments


def suggest_for_segment(start: float, end: float, script: str | None, alignment: Alignment | None,
                        emotion: EmotionTrack | None, backend_config: BackendConfig | None = None, *,
                        duration: float | None = None, cancel: CancelToken | None = None) -> SceneSegment:
    """A fresh line for one segment the user selected (words taken from the alignment when timed)."""
    if end <= start:
        raise UserInputError("the segment ends before it starts.", None, "Select a stretch of the timeline.")
    words = ""
    if alignment is not None and alignment.words:
        words = " ".join(w.text for w in alignment.words if w.end > start and w.start < end)
    elif script:
        dur = duration or (emotion.n_frames / emotion.fps if emotion is not None and emotion.n_frames else end)
        for a, b, s in _spread_sentences(script, max(dur, end)):
            if b > start and a < end:
                words = (words + " " + s).strip()
    label, inten, val, aro = _emotion_of(emotion, start, end)
    ctx = SegmentContext(start, end, words, label, inten, val, aro)
    notes: list[str] = []
    backend = make_backend(backend_config or BackendConfig(), cancel, notes)
    line, source = _line_for(backend, ctx, notes)
    return SceneSegment(float(start), float(end), line, source)
