"""Free text -> a timed list of actions (``Cue``), before touching any motion.

A description is read as steps ("looks away, thoughtful, then raises her
eyebrows" has two steps, split at "then"); each step holds clauses that
happen together (split at commas, "and", "while"). Each clause is matched to
the action library by keyword first, then by MiniLM similarity to the
library's example phrases, so paraphrases work; adverbs set intensity and
tempo, "without"/"not" negate, left/right/up/down/away set a direction.
Clauses that match nothing are returned as ``unmapped`` for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.scene.actions import (
    ACTIONS, BY_NAME, DEFAULT_INTENSITY, FILLER, INTENSITY, NOT_FACIAL, TEMPO, Action,
)

# cosine similarity to the best example phrase needed to accept an embedding match,
# and how far ahead of the runner-up it must be (measured in tests/scene/test_parse.py)
MATCH_THRESHOLD = 0.55
MATCH_MARGIN = 0.03

_STEP_SPLIT = re.compile(r"\b(?:and\s+then|then|afterwards|after\s+that|finally|later)\b|;|\.\s+|\s+-+\s+")
# "with" starts a new clause, except "with her left eye" (which eye winks)
_CLAUSE_SPLIT = re.compile(r",|\band\b|\bwhile\b|\bbut\b"
                           r"|\bwith\b(?!out)(?!\s+(?:(?:her|his|their|the|its|one)\s+)?(?:left|right)\s+eye)")
_NEGATION = re.compile(r"\b(?:without|not|never|no\s+(?=\w)|don't|doesn't|does\s+not|do\s+not|stops?|avoid\w*|isn't|no\s+longer)\b")
_DIRECTION = (
    ("camera", re.compile(r"\b(?:at|into|to)\s+(?:the\s+)?(?:camera|lens|viewer|audience)\b|\bback\s+at\b|\bstraight\s+ahead\b")),
    ("left", re.compile(r"\bleft\b")),
    ("right", re.compile(r"\bright\b")),
    ("up", re.compile(r"\bup(?:ward|wards)?\b|\bskyward|\bceiling\b")),
    ("down", re.compile(r"\bdown(?:ward|wards)?\b|\blower\w*\b|\bfloor\b|\bground\b|\blap\b")),
    ("away", re.compile(r"\baway\b|\baside\b|\bsideways\b|\bto\s+the\s+side\b|\boff\b|\bdistance\b|\bwindow\b")),
)
_VIEWER_SIDE = re.compile(r"\b(?:viewer's|viewers'|screen|camera|image|our)\s+(?:left|right)\b")


@dataclass
class Cue:
    """One action with its timing as fractions (0..1) of its segment."""

    action: str
    t0: float
    t1: float
    intensity: float = DEFAULT_INTENSITY
    tempo: float = 1.0
    negated: bool = False
    direction: str = ""          # "left"/"right" are the subject's own sides
    phrase: str = ""
    match: str = "keyword"       # "keyword" | "embedding"
    score: float = 1.0


@dataclass
class ParsedText:
    cues: list[Cue] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2014", " - ")
    return re.sub(r"[\"()\[\]]", " ", text)


def _intensity(clause: str) -> tuple[float, float]:
    level, tempo = DEFAULT_INTENSITY, 1.0
    for word, v in sorted(INTENSITY.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{re.escape(word)}\b", clause):
            level = v
            break
    for word, v in TEMPO.items():
        if re.search(rf"\b{re.escape(word)}\b", clause):
            tempo = v
            break
    return level, tempo


def _direction(clause: str) -> str:
    side = _VIEWER_SIDE.search(clause)
    if side:  # the viewer's left is the subject's right
        return "right" if side.group(0).endswith("left") else "left"
    for name, rx in _DIRECTION:
        if rx.search(clause):
            return name
    return ""


@lru_cache(maxsize=1)
def _library() -> tuple[np.ndarray, tuple[str, ...]]:
    """Embeddings of every example phrase and the action each belongs to."""
    from core.scene.encoder import embed_texts

    names, phrases = [], []
    for a in ACTIONS:
        for p in a.phrases:
            names.append(a.name)
            phrases.append(p)
    for p in NOT_FACIAL:
        names.append("")
        phrases.append(p)
    return embed_texts(phrases), tuple(names)


def embedding_match(clause: str) -> tuple[str, float, float]:
    """(best action, its similarity, margin over the next action) for a clause.

    The best "action" is "" when the clause is closest to something a face
    cannot do (NOT_FACIAL).
    """
    from core.scene.encoder import embed_texts

    lib, names = _library()
    sims = lib @ embed_texts([clause])[0]
    best: dict[str, float] = {}
    for n, s in zip(names, sims):
        best[n] = max(best.get(n, -1.0), float(s))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    (top, s1), (_, s2) = ranked[0], ranked[1]
    return top, s1, s1 - s2


def _keyword_actions(clause: str) -> list[Action]:
    found = []
    for a in ACTIONS:
        if any(re.search(k, clause) for k in a.keywords):
            found.append(a)
    names = {a.name for a in found}
    # "looks happy/surprised" is a mood, not a gaze; "looks" + a raised-brow phrase is the brows
    if "look" in names and names & {"thoughtful", "surprised", "sad", "serious", "cheerful", "calm"} \
            and not _direction(clause):
        found = [a for a in found if a.name != "look"]
    if "turn" in names and "look" in names:
        found = [a for a in found if a.name != "turn"]
    return found


def _is_filler(clause: str) -> bool:
    words = re.findall(r"[a-z']+", clause)
    rest = [w for w in words if w not in FILLER and w not in INTENSITY and w not in TEMPO]
    return not rest


def _content(clause: str) -> str:
    """The clause without negation and adverbs: what the embedding should compare."""
    c = _NEGATION.sub(" ", clause)
    words = [w for w in re.findall(r"[a-z'-]+", c) if w not in INTENSITY and w not in TEMPO]
    return " ".join(words)


def parse_description(text: str, use_embeddings: bool = True) -> ParsedText:
    """Read one scene description into cues with relative timing."""
    out = ParsedText()
    steps = [s.strip(" .!,") for s in _STEP_SPLIT.split(_norm(text))]
    steps = [s for s in steps if s and not _is_filler(s)] or []
    n = max(1, len(steps))
    for si, step in enumerate(steps):
        t0, t1 = si / n, (si + 1) / n
        clauses = [c.strip(" .!") for c in _CLAUSE_SPLIT.split(step)]
        step_level, step_tempo = _intensity(step)
        pending_mods: list[tuple[float, float]] = []
        step_cues: list[Cue] = []
        for clause in clauses:
            if not clause:
                continue
            level, tempo = _intensity(clause)
            negated = bool(_NEGATION.search(clause))
            actions = _keyword_actions(clause)
            how, score = "keyword", 1.0
            if not actions and _is_filler(clause):
                # a bare adverb ("warmly", "slowly") modifies its neighbours
                if level != DEFAULT_INTENSITY or tempo != 1.0:
                    pending_mods.append((level, tempo))
                continue
            if not actions and use_embeddings:
                name, score, margin = embedding_match(_content(clause) or clause)
                if name and score >= MATCH_THRESHOLD and margin >= MATCH_MARGIN:
                    actions, how = [BY_NAME[name]], "embedding"
            if not actions:
                out.unmapped.append(clause)
                continue
            for a in actions:
                step_cues.append(Cue(a.name, 0.0 if a.kind == "attribute" else t0,
                                     1.0 if a.kind == "attribute" else t1,
                                     level if level != DEFAULT_INTENSITY else step_level,
                                     tempo if tempo != 1.0 else step_tempo, negated,
                                     _direction(clause) if a.directional else "", clause, how, round(score, 3)))
        for level, tempo in pending_mods:
            for c in step_cues:
                if c.intensity == DEFAULT_INTENSITY:
                    c.intensity = level
                if c.tempo == 1.0:
                    c.tempo = tempo
        out.cues += step_cues
    return out
