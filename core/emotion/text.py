"""Script sentiment: VADER valence and NRC emotion classes, per sentence and word.

VADER already handles negation ("not happy"), intensifiers ("very"),
capitals and "but" clauses at sentence level, so sentence valence comes from
it directly. NRC is a plain word list, so negation and intensifiers are
applied here: a negator in the three preceding words flips the word's
classes to their opposites (joy <-> sadness, trust -> disgust...) at reduced
weight, and an intensifier scales the word up.

Licence: the NRC Emotion Lexicon (bundled in ``nrclex``) is free for
research and non-commercial use; commercial use needs a licence from the
National Research Council Canada (see docs/emotion.md). VADER is MIT.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.tracks import EMOTIONS, Alignment

log = logging.getLogger(__name__)
# NRC categories -> our classes (anticipation/trust/positive/negative are
# used for valence only).
NRC_TO_CLASS = {"joy": "happy", "sadness": "sad", "anger": "angry", "fear": "fearful",
                "disgust": "disgusted", "surprise": "surprised"}
NEGATED = {"happy": "sad", "sad": "neutral", "angry": "neutral", "fearful": "neutral",
           "disgusted": "neutral", "surprised": "neutral"}
NEGATORS = {"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without",
            "hardly", "barely", "cannot", "can't", "don't", "doesn't", "didn't", "isn't",
            "wasn't", "aren't", "weren't", "won't", "wouldn't", "shouldn't", "couldn't",
            "ain't", "dont", "cant", "isnt", "wasnt", "wont"}
INTENSIFIERS = {"very": 1.4, "so": 1.3, "really": 1.3, "extremely": 1.6, "incredibly": 1.5,
                "absolutely": 1.5, "totally": 1.4, "completely": 1.4, "deeply": 1.4,
                "truly": 1.3, "utterly": 1.5, "most": 1.2, "such": 1.2, "too": 1.2,
                "slightly": 0.6, "somewhat": 0.7, "barely": 0.5, "a bit": 0.6, "kind of": 0.7}
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_SENT = re.compile(r"(?<=[.!?…])\s+|\n+")


@dataclass
class SentenceScore:
    text: str
    start_word: int       # index of first token in the script's token list
    end_word: int         # exclusive
    valence: float        # VADER compound in [-1, 1]
    arousal: float        # 0..1 from exclamations, capitals, NRC hits
    probs: np.ndarray     # (len(EMOTIONS),)
    confidence: float     # 0..1: how much affect evidence the sentence carries


@dataclass
class TextScore:
    tokens: list[str]
    word_valence: np.ndarray          # per token, negation-aware
    word_probs: np.ndarray            # (n_tokens, len(EMOTIONS)) affect mass (not normalised)
    sentences: list[SentenceScore] = field(default_factory=list)

    def summary(self) -> dict:
        """Utterance-level view for `analyze`."""
        if not self.sentences:
            return {"valence": 0.0, "probs": dict.fromkeys(EMOTIONS, 0.0), "confidence": 0.0}
        w = np.array([max(s.end_word - s.start_word, 1) for s in self.sentences], float)
        v = float(np.average([s.valence for s in self.sentences], weights=w))
        p = np.average(np.stack([s.probs for s in self.sentences]), axis=0, weights=w)
        c = float(np.average([s.confidence for s in self.sentences], weights=w))
        return {"valence": round(v, 3), "probs": {e: round(float(x), 3) for e, x in zip(EMOTIONS, p)},
                "confidence": round(c, 3),
                "sentences": [{"text": s.text, "valence": round(s.valence, 3),
                               "top": EMOTIONS[int(np.argmax(s.probs))],
                               "confidence": round(s.confidence, 3)} for s in self.sentences]}


# Said wherever the script was scored without the lexicon (CLI note, --json, the studio, the log).
NRC_MISSING = ("the NRC emotion lexicon (package nrclex) is not installed, so the script's words gave "
               "only their valence (VADER: happy or sad), not anger, fear, disgust or surprise; reinstall "
               "SynchroRaMa for them, or see docs/licences.md if it was left out on purpose.")


@lru_cache(maxsize=1)
def _nrc() -> dict[str, list[str]]:
    """The NRC word -> categories lexicon; {} (with a logged warning) when nrclex is not installed.

    The lexicon is optional on purpose (its licence restricts commercial use,
    docs/licences.md); a damaged one (bad JSON) is an error.
    """
    from importlib import resources

    try:
        with resources.files("nrclex.data").joinpath("nrc_en.json").open("r", encoding="utf-8") as f:
            return json.load(f)
    except (ModuleNotFoundError, FileNotFoundError):
        log.warning(NRC_MISSING)
        return {}


def nrc_available() -> bool:
    """Whether the script's words can give emotion classes (not only valence)."""
    return bool(_nrc())


def nrc_installed() -> bool:
    """Whether the nrclex package is there, without loading it (for analysis cache keys:
    a track scored without the lexicon is not reused once it is installed)."""
    import importlib.util

    return importlib.util.find_spec("nrclex") is not None


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def tokenize(text: str) -> list[str]:
    return [m.group(0).lower().strip("'-") for m in _WORD.finditer(text)]


def _lemma_candidates(w: str) -> list[str]:
    out = [w]
    for suf, rep in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""),
                     ("ing", "e"), ("ly", ""), ("ness", "")):
        if w.endswith(suf) and len(w) > len(suf) + 2:
            out.append(w[: -len(suf)] + rep)
    return out


def word_affect(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-token NRC class mass and a word-level valence, negation/intensifier aware."""
    nrc = _nrc()
    vader_lex = _vader().lexicon
    n = len(tokens)
    probs = np.zeros((n, len(EMOTIONS)), np.float32)
    val = np.zeros(n, np.float32)
    for i, w in enumerate(tokens):
        cats: list[str] = []
        for c in _lemma_candidates(w):
            if c in nrc:
                cats = nrc[c]
                break
        v = 0.0
        for c in _lemma_candidates(w):
            if c in vader_lex:
                v = float(vader_lex[c]) / 4.0
                break
        if not v and cats:
            v = 0.3 * (("positive" in cats) - ("negative" in cats))
        gain = 1.0
        negated = False
        for j in range(max(0, i - 3), i):
            if tokens[j] in NEGATORS:
                negated = True
            gain *= INTENSIFIERS.get(tokens[j], 1.0)
        for cat in cats:
            cls = NRC_TO_CLASS.get(cat)
            if cls is None:
                continue
            if negated:
                cls = NEGATED[cls]
                probs[i, EMOTIONS.index(cls)] += 0.5 * gain
            else:
                probs[i, EMOTIONS.index(cls)] += gain
        val[i] = np.clip((-0.6 if negated else 1.0) * v * gain, -1, 1)
    return probs, val


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and s.strip()]


def score_text(text: str) -> TextScore:
    """Score a script: word affect, then sentences (VADER compound + NRC mix)."""
    tokens: list[str] = []
    sentences: list[SentenceScore] = []
    sent_texts = split_sentences(text)
    per_sentence_tokens = [tokenize(s) for s in sent_texts]
    for toks in per_sentence_tokens:
        tokens.extend(toks)
    wp, wv = word_affect(tokens)
    vader = _vader()
    k = 0
    for s, toks in zip(sent_texts, per_sentence_tokens):
        a, b = k, k + len(toks)
        k = b
        if not toks:
            continue
        vs = vader.polarity_scores(s)
        mass = wp[a:b].sum(0)
        total = float(mass.sum())
        compound = float(vs["compound"])
        probs = np.zeros(len(EMOTIONS), np.float32)
        if total > 0:
            probs = mass / total
            # VADER's sentence polarity (negation-aware) tempers NRC's word counts.
            if compound < -0.3:
                probs[EMOTIONS.index("happy")] *= 0.3
            elif compound > 0.3:
                for c in ("sad", "angry", "fearful", "disgusted"):
                    probs[EMOTIONS.index(c)] *= 0.3
            probs = probs / max(probs.sum(), 1e-6)
        elif abs(compound) > 0.3:
            probs[EMOTIONS.index("happy" if compound > 0 else "sad")] = 1.0
        evidence = min(1.0, total / 2.0) * 0.5 + min(1.0, abs(compound)) * 0.5
        neutral_share = 1.0 - evidence
        probs = probs * evidence
        probs[0] += neutral_share
        probs = probs / probs.sum()
        excl = s.count("!")
        caps = sum(1 for t in re.findall(r"\b[A-Z]{2,}\b", s))
        aro_cls = (probs @ np.array([0, 0.5, -0.4, 0.8, 0.8, 0.6, 0.3, 0.2], np.float32))
        arousal = float(np.clip(0.25 * excl + 0.15 * caps + aro_cls + 0.3 * abs(compound) - 0.1, -1, 1))
        sentences.append(SentenceScore(s, a, b, compound, arousal, probs.astype(np.float32),
                                       float(evidence)))
    return TextScore(tokens, wv, wp, sentences)


def _match_words(tokens: list[str], words: list[str]) -> list[int]:
    """Map each script token to an aligned word index (greedy, tolerant to gaps)."""
    out = [-1] * len(tokens)
    j = 0
    norm = [re.sub(r"[^a-z']", "", w.lower()) for w in words]
    for i, t in enumerate(tokens):
        for k in range(j, min(j + 6, len(norm))):
            if norm[k] == t or (norm[k] and t.startswith(norm[k])) or (t and norm[k].startswith(t)):
                out[i] = k
                j = k + 1
                break
    return out


@dataclass
class TextTrack:
    """Text evidence on the video's frame grid."""

    valence: np.ndarray      # (T,)
    arousal: np.ndarray      # (T,)
    probs: np.ndarray        # (T, len(EMOTIONS))
    confidence: np.ndarray   # (T,) 0 outside sentences
    score: TextScore | None = None


def text_track(alignment: Alignment, fps: float, n_frames: int, script: str | None = None) -> TextTrack:
    """Spread sentence scores over their spoken span, word accents on top.

    A sentence holds its score from its first word's start to the next
    sentence's start (context carries through pauses); a strongly affective
    word adds a short local bump so "...and then, sadly..." leans at that word.
    """
    text = script if script is not None else alignment.script
    T = n_frames
    val = np.zeros(T, np.float32)
    aro = np.zeros(T, np.float32)
    probs = np.zeros((T, len(EMOTIONS)), np.float32)
    probs[:, 0] = 1.0
    conf = np.zeros(T, np.float32)
    if not text or not text.strip():
        return TextTrack(val, aro, probs, conf, None)
    score = score_text(text)
    words = alignment.words
    if not score.sentences:
        return TextTrack(val, aro, probs, conf, score)
    if not words:
        # no timings: the script's mood over the whole clip, at low confidence
        s = score.summary()
        val[:] = s["valence"]
        probs[:] = np.array([s["probs"][e] for e in EMOTIONS], np.float32)
        conf[:] = 0.5 * s["confidence"]
        return TextTrack(val, aro, probs, conf, score)
    idx = _match_words(score.tokens, [w.text for w in words])
    spans = []
    for s in score.sentences:
        hits = [idx[i] for i in range(s.start_word, s.end_word) if idx[i] >= 0]
        if hits:
            spans.append((words[min(hits)].start, words[max(hits)].end, s))
    if not spans:
        return TextTrack(val, aro, probs, conf, score)
    t = (np.arange(T) + 0.5) / fps
    for k, (a, b, s) in enumerate(spans):
        a0 = 0.0 if k == 0 else a
        b1 = spans[k + 1][0] if k + 1 < len(spans) else max(b + 1.0, t[-1] + 1)
        m = (t >= a0) & (t < b1)
        val[m] = s.valence
        aro[m] = s.arousal
        probs[m] = s.probs
        conf[m] = s.confidence * (1.0 if (a <= t[m]).any() else 0.7)
    # word accents
    for i, k in enumerate(idx):
        if k < 0 or (abs(score.word_valence[i]) < 0.3 and score.word_probs[i].sum() < 1):
            continue
        c = 0.5 * (words[k].start + words[k].end)
        bump = np.exp(-0.5 * ((t - c) / 0.6) ** 2).astype(np.float32) * 0.35
        val = np.clip(val + bump * score.word_valence[i], -1, 1)
        if score.word_probs[i].sum() > 0:
            wpn = score.word_probs[i] / score.word_probs[i].sum()
            probs = probs * (1 - bump[:, None]) + bump[:, None] * wpn[None, :]
    return TextTrack(val, aro, probs, conf, score)
