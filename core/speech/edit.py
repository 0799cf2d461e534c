"""Hand edits of word timings and word text, keeping the phones that drive the mouth in step.

The mouth follows ``Alignment.phones`` (core.motion.visemes), not the words,
so every edit of a word must move or re-derive that word's phones too:

- ``retime_word`` / ``move_word_edge``: the word gets a new span; its phones
  are stretched linearly into it (their relative lengths kept) and the
  silences between words are rebuilt, so nothing overlaps and no gap is left
  without a phone.
- ``retext_word``: the word gets new text; its phones are read again from the
  pronunciation dictionary (letter-to-sound rules for words it lacks, numbers
  and symbols spelled out as the aligner does) and spread over the word's
  span, vowels twice as long as consonants.

Every function returns a new Alignment; the input is not modified.
"""

from __future__ import annotations

import copy

from core.errors import UserInputError
from core.tracks import Alignment, Phone, Word

MIN_WORD_S = 0.02
VOWEL_WEIGHT = 2.0          # a vowel takes this many consonants' time when a word's phones are spread
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def word_phones(text: str) -> list[str]:
    """ARPAbet phones (no stress digits) for written text: one word, a number, "don't", "GPU"..."""
    from core.speech.align import DECODERS, known_word
    from core.speech.lts import pronounce
    from core.speech.text import normalise

    known = DECODERS.dictionary()
    out: list[str] = []
    for tok in normalise(text, known_word):
        phones = known.get(tok.word)
        if phones is None:
            phones = pronounce(tok.word, lambda w: known.get(w.lower()))
        out += [p.rstrip("012") for p in phones]
    return out


def _word_phone_indices(al: Alignment, i: int) -> list[int]:
    return [k for k, p in enumerate(al.phones) if p.word == i]


def _rebuild_silences(phones: list[Phone], tail: float | None) -> list[Phone]:
    """Drop every SIL, sort the rest by time and put a SIL in each gap (and after the last up to ``tail``)."""
    spoken = sorted((p for p in phones if p.label != "SIL"), key=lambda p: p.start)
    out: list[Phone] = []
    t = 0.0
    for p in spoken:
        if p.start > t + 1e-6:
            out.append(Phone("SIL", round(t, 4), round(p.start, 4), -1))
        out.append(p)
        t = max(t, p.end)
    if tail is not None and tail > t + 1e-6:
        out.append(Phone("SIL", round(t, 4), round(tail, 4), -1))
    return out


def _end_of(al: Alignment) -> float | None:
    """Where the alignment's phones end (its last SIL reaches the end of the narration)."""
    return max((p.end for p in al.phones), default=None)


def _tail(al: Alignment) -> float | None:
    """The end of a closing SIL, if the alignment has one (an edit keeps the ending as it was)."""
    if al.phones and max(al.phones, key=lambda p: p.end).label == "SIL":
        return _end_of(al)
    return None


def retime_word(al: Alignment, i: int, start: float, end: float, duration: float | None = None) -> Alignment:
    """Word ``i`` spans [start, end]; its phones are stretched into the new span.

    ``start``/``end`` are clipped between the neighbouring words (the caller's
    drag may overshoot); ``duration`` bounds the last word (default: where the
    phones ended before).
    """
    if not 0 <= i < len(al.words):
        raise IndexError(f"no word {i}")
    out = copy.deepcopy(al)
    words = out.words
    limit = duration if duration is not None else (_end_of(al) or max(w.end for w in words))
    lo = words[i - 1].end if i > 0 else 0.0
    hi = words[i + 1].start if i + 1 < len(words) else max(limit, words[i].end)
    start = min(max(float(start), lo), hi - MIN_WORD_S)
    end = max(min(float(end), hi), start + MIN_WORD_S)
    w = words[i]
    old0, old1 = w.start, w.end
    w.start, w.end = round(start, 4), round(end, 4)
    idx = _word_phone_indices(out, i)
    span = max(old1 - old0, 1e-9)
    for k in idx:
        p = out.phones[k]
        p.start = round(start + (p.start - old0) / span * (end - start), 4)
        p.end = round(start + (p.end - old0) / span * (end - start), 4)
    out.phones = _rebuild_silences(out.phones, _tail(al))
    return out


def move_word_edge(al: Alignment, i: int, edge: str, t: float, duration: float | None = None) -> Alignment:
    """Drag one edge ("start" or "end") of word ``i`` to time ``t``, its phones following."""
    w = al.words[i]
    if edge == "start":
        return retime_word(al, i, t, w.end, duration)
    if edge == "end":
        return retime_word(al, i, w.start, t, duration)
    raise ValueError(f"edge must be 'start' or 'end', not {edge!r}")


def spread_phones(labels: list[str], start: float, end: float, word: int) -> list[Phone]:
    """Timed phones for ``labels`` over [start, end], vowels ``VOWEL_WEIGHT`` times as long."""
    weights = [VOWEL_WEIGHT if lab in _VOWELS else 1.0 for lab in labels]
    total = sum(weights) or 1.0
    out, t = [], start
    for lab, wt in zip(labels, weights):
        nxt = t + (end - start) * wt / total
        out.append(Phone(lab, round(t, 4), round(nxt, 4), word))
        t = nxt
    if out:
        out[-1].end = round(end, 4)
    return out


def retext_word(al: Alignment, i: int, text: str) -> Alignment:
    """Word ``i`` reads ``text``; its phones are derived again from the new text over the same span."""
    if not 0 <= i < len(al.words):
        raise IndexError(f"no word {i}")
    text = " ".join(text.split())
    if not text:
        raise UserInputError("a word cannot be empty.", None,
                             "Type the word that is said here, or drag its neighbours over it.")
    labels = word_phones(text)
    if not labels:
        raise UserInputError(f"'{text}' has no sounds to show.", None, "Type the word with letters or digits.")
    out = copy.deepcopy(al)
    w: Word = out.words[i]
    w.text = text
    keep = [p for p in out.phones if p.word != i]
    out.phones = _rebuild_silences(keep + spread_phones(labels, w.start, w.end, i), _tail(al))
    return out
