"""What in a project is timed to its narration, and how it follows a new one.

A project's hand edits are timed in seconds of its narration: edited word
timings, mouth keys, scene segments, emotion-curve keys. When the narration
is replaced those times point into the old audio. ``timed_edits`` counts
them (the studio asks before they are lost); ``stretched`` scales the ones
that can follow a new length (scenes, curve keys, mouth keys) by
new / old duration. Word timings cannot be stretched (the new narration's
words are somewhere else): they go back to the new analysis.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from core.tracks import MouthKey, SceneSegment


@dataclass
class TimedEdits:
    """The hand edits that belong to one narration."""

    words: int = 0           # words in a user-edited alignment (0 = as analysed)
    mouth_keys: int = 0
    scenes: int = 0
    curve_keys: int = 0
    script: bool = False     # a script the user typed or applied

    @property
    def timed(self) -> bool:
        """Edits placed in seconds of the narration (the script is not: it is aligned again)."""
        return bool(self.words or self.mouth_keys or self.scenes or self.curve_keys)

    @property
    def any(self) -> bool:
        return self.timed or self.script

    def lines(self) -> list[str]:
        """One line per kind of edit, in words (for the studio's question)."""
        out = []
        if self.words:
            out.append("word timings or words you edited")
        if self.mouth_keys:
            out.append(f"{self.mouth_keys} mouth key(s)")
        if self.scenes:
            out.append(f"{self.scenes} scene segment(s)")
        if self.curve_keys:
            out.append(f"{self.curve_keys} emotion-curve key(s)")
        if self.script:
            out.append("the script")
        return out


def curve_key_count(curves: dict) -> int:
    return sum(len(ch.get("keys", [])) for ch in (curves or {}).get("channels", {}).values())


def timed_edits(project) -> TimedEdits:
    return TimedEdits(
        words=len(project.alignment.words) if project.alignment is not None else 0,
        mouth_keys=len(project.mouth_keys),
        scenes=len(project.scenes),
        curve_keys=curve_key_count(project.curves),
        script=bool(project.script.strip()),
    )


def stretch_scenes(scenes: list[SceneSegment], factor: float, duration: float) -> list[SceneSegment]:
    out = []
    for s in scenes:
        a, b = round(min(s.start * factor, duration), 3), round(min(s.end * factor, duration), 3)
        if b - a >= 0.05:
            out.append(SceneSegment(a, b, s.text, s.source))
    return out


def stretch_curves(curves: dict, factor: float) -> dict:
    """Every key's time and its Bezier handles' time offsets times ``factor``."""
    out = copy.deepcopy(curves or {})
    for ch in out.get("channels", {}).values():
        for k in ch.get("keys", []):
            k["t"] = round(float(k["t"]) * factor, 4)
            for h in ("in", "out"):
                if h in k:
                    k[h] = [round(float(k[h][0]) * factor, 4), k[h][1]]
    return out


def stretch_mouth_keys(keys: list[MouthKey], factor: float, duration: float) -> list[MouthKey]:
    out = []
    for k in keys:
        a, b = min(k.start * factor, duration), min(k.end * factor, duration)
        if b - a >= 0.02:
            out.append(MouthKey(round(a, 4), round(b, 4), k.shape, k.strength))
    return out


def stretched(project, old_duration: float, new_duration: float) -> dict:
    """New values for the project's timed fields, scaled from the old narration's length to the new one.

    Returns {"scenes", "curves", "mouth_keys", "alignment": None}: the caller
    sets them together with the new narration (one undo step in the studio).
    """
    factor = new_duration / old_duration if old_duration > 0 else 1.0
    return {
        "scenes": stretch_scenes(project.scenes, factor, new_duration),
        "curves": stretch_curves(project.curves, factor),
        "mouth_keys": stretch_mouth_keys(project.mouth_keys, factor, new_duration),
        "alignment": None,
    }


def cleared(project) -> dict:
    """New values that drop every edit timed to the old narration (and the script typed for it)."""
    curves = copy.deepcopy(project.curves or {})
    if curves.get("channels"):
        curves = {}
    return {"scenes": [], "curves": curves, "mouth_keys": [], "alignment": None, "script": ""}


def keep_user_segments(current: list[SceneSegment], suggested: list[SceneSegment],
                       min_s: float = 0.3) -> list[SceneSegment]:
    """The user's own segments kept as they are; suggestions only where no user segment is.

    A suggestion that overlaps a user segment is cut back to the free part
    before or after it (the longer one), or dropped when under ``min_s``.
    """
    mine = sorted((s for s in current if s.source == "user"), key=lambda s: s.start)
    out = list(mine)
    for sug in suggested:
        free = [(sug.start, sug.end)]
        for m in mine:
            nxt = []
            for a, b in free:
                if m.end <= a or m.start >= b:
                    nxt.append((a, b))
                    continue
                if m.start > a:
                    nxt.append((a, m.start))
                if m.end < b:
                    nxt.append((m.end, b))
            free = nxt
        free = [(a, b) for a, b in free if b - a >= min_s]
        if free:
            a, b = max(free, key=lambda ab: ab[1] - ab[0])
            out.append(SceneSegment(round(a, 3), round(b, 3), sug.text, sug.source))
    return sorted(out, key=lambda s: s.start)


def split_segment(segments: list[SceneSegment], i: int, t: float, min_s: float = 0.1) -> list[SceneSegment]:
    """Segment ``i`` cut in two at ``t`` (both halves keep its text); ValueError when too close to an edge."""
    s = segments[i]
    if not (s.start + min_s <= t <= s.end - min_s):
        raise ValueError(f"{t:.2f} s is not inside {s.start:.2f}-{s.end:.2f} s")
    out = copy.deepcopy(segments)
    out[i:i + 1] = [SceneSegment(s.start, round(t, 3), s.text, s.source),
                    SceneSegment(round(t, 3), s.end, s.text, s.source)]
    return out
