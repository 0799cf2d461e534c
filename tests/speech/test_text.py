"""Script normalisation: numbers, symbols, acronyms, compounds."""

from __future__ import annotations

from core.speech.align import known_word
from core.speech.text import normalise


def words(s: str) -> list[str]:
    return [t.word for t in normalise(s, known_word)]


def test_numbers_and_symbols():
    assert words("In 1987 we paid $3.50 for 25% of it.") == (
        "in nineteen eighty seven we paid three dollars and fifty cents for twenty five percent of it".split())
    assert words("the 3rd time, 2,000 people & 1990s") == (
        "the third time two thousand people and nineteen nineties".split())


def test_acronyms_and_compounds_point_at_their_written_token():
    toks = normalise("A GPU well-known", known_word)
    assert [t.word for t in toks] == ["a", "g", "p", "u", "well", "known"]
    assert [t.source for t in toks] == [0, 1, 1, 1, 2, 2]
    assert all(t.spelled for t in toks[1:4])
