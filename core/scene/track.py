"""Checks and small helpers for the scene track (ordered, non-overlapping segments)."""

from __future__ import annotations

from core.errors import UserInputError
from core.tracks import SceneSegment

MAX_TEXT = 300  # characters; a scene line is one sentence of visible behaviour
EPS = 1e-3      # seconds: touching segments (a.end == b.start) are fine


def _fmt(t: float) -> str:
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m)}:{s:05.2f}" if m else f"{s:.2f}"


def validate_segments(segments: list[SceneSegment], duration: float | None) -> list[SceneSegment]:
    """Sorted copy of ``segments``; raise UserInputError on anything the user must fix.

    Rejects empty text, end <= start, negative times, segments that start
    after the narration ends, and overlaps. A segment that runs past the end
    of the narration (by more than a frame's rounding) is an error too:
    silently trimming would hide a typo such as "0-30" for "0-3.0".
    """
    out = sorted((SceneSegment(float(s.start), float(s.end), str(s.text).strip(), s.source)
                  for s in segments), key=lambda s: (s.start, s.end))
    fix_overlap = "Make each segment start at or after the previous one ends."
    for s in out:
        label = f"scene {_fmt(s.start)}-{_fmt(s.end)}"
        if not s.text:
            raise UserInputError(f"{label} has no text.", None, "Describe what the face does, e.g. 'smiles and nods'.")
        if len(s.text) > MAX_TEXT:
            raise UserInputError(f"{label} is {len(s.text)} characters long.", None,
                                 f"Keep a description under {MAX_TEXT} characters; split it into segments.")
        if s.start < 0:
            raise UserInputError(f"{label} starts before 0.", None, "Use times from 0 on.")
        if s.end <= s.start:
            raise UserInputError(f"{label} ends before it starts.", None, "Swap the times.")
        if duration is not None and duration > 0:
            if s.start >= duration:
                raise UserInputError(f"{label} starts after the narration ends ({_fmt(duration)}).", None,
                                     "Use times inside the narration.")
            if s.end > duration + 0.05:
                raise UserInputError(f"{label} runs past the end of the narration ({_fmt(duration)}).", None,
                                     f"End it at {_fmt(duration)} or earlier.")
    for a, b in zip(out, out[1:]):
        if b.start < a.end - EPS:
            raise UserInputError(
                f"scenes {_fmt(a.start)}-{_fmt(a.end)} ('{a.text[:30]}') and {_fmt(b.start)}-{_fmt(b.end)} "
                f"('{b.text[:30]}') overlap.", None, fix_overlap)
    if duration is not None and duration > 0:
        out = [SceneSegment(s.start, min(s.end, duration), s.text, s.source) for s in out]
    return out


def segment_at(segments: list[SceneSegment], t: float) -> int:
    """Index of the segment covering time ``t`` (seconds), or -1."""
    for i, s in enumerate(segments):
        if s.start <= t < s.end:
            return i
    return -1
