"""Letter-to-sound for words outside the pronunciation dictionary."""

from __future__ import annotations

import difflib
import random

from core.speech.align import DECODERS
from core.speech.lts import pronounce, rules_phones

ARPABET = {"AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
           "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
           "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH"}


def _lookup(word: str):
    return DECODERS.dictionary().get(word.lower())


def test_out_of_dictionary_words_get_plausible_phones():
    for word in ("blorptastic", "Zylophrenic", "SynchroRaMa", "flimbertoo"):
        assert _lookup(word) is None
        phones = pronounce(word, _lookup)
        assert phones and set(phones) <= ARPABET, (word, phones)
    # dictionary pieces: a coinage glued from known words keeps their phones
    assert pronounce("SynchroRaMa", _lookup)[-4:] == _lookup("rama")
    # consonants the spelling makes unambiguous are found
    ph = rules_phones("blorptastic")
    assert ph[:2] == ["B", "L"] and "P" in ph and ph[-1] == "K"
    assert rules_phones("mavim")[0] == "M" and rules_phones("mavim")[-1] == "M"
    assert "F" in rules_phones("phobo")


def test_rules_agree_with_dictionary_on_most_phones():
    """Rules alone on 400 random dictionary words: >= 75% of phones matched in order."""
    words = sorted(w for w in DECODERS.dictionary() if w.isalpha() and len(w) > 3)
    rng = random.Random(1)
    ok = total = 0
    for w in rng.sample(words, 400):
        ref = DECODERS.dictionary()[w]
        sm = difflib.SequenceMatcher(a=rules_phones(w), b=ref)
        ok += sum(m.size for m in sm.get_matching_blocks())
        total += len(ref)
    assert ok / total >= 0.75, ok / total
