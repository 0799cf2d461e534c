"""Script text -> the word tokens the aligner sees.

The aligner needs lower-case words that exist in its pronunciation
dictionary (or get one from the letter-to-sound rules). Users type
punctuation, numbers, currency, percentages, ordinals, acronyms and
hyphenated compounds; this module turns all of that into plain words and
remembers which written token each spoken word came from, so the tracks
can show the user's own spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
SYMBOLS = {"&": "and", "%": "percent", "+": "plus", "=": "equals", "@": "at", "°": "degrees"}
CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
            "£": ("pound", "pounds", "penny", "pence")}


@dataclass
class Token:
    """One spoken word and the written token it came from."""

    word: str        # lower-case, as the aligner sees it
    source: int      # index of the written token in ``split_written``
    spelled: bool = False  # an acronym read letter by letter


def number_words(n: int) -> list[str]:
    """Cardinal number in words (``2024`` -> two thousand twenty four)."""
    if n < 0:
        return ["minus"] + number_words(-n)
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    for value, name in SCALES:
        if n >= value:
            head = number_words(n // value) + [name]
            return head + (number_words(n % value) if n % value else [])
    return [ONES[0]]


def year_words(n: int) -> list[str]:
    """Years are read in pairs: 1987 -> nineteen eighty seven, 2005 -> two thousand five."""
    hi, lo = divmod(n, 100)
    if n % 1000 < 10 or 2000 <= n < 2010:
        return number_words(n)
    if lo == 0:
        return number_words(hi) + ["hundred"]
    return number_words(hi) + (["oh"] if lo < 10 else []) + number_words(lo)


def ordinal_words(n: int) -> list[str]:
    words = number_words(n)
    last = words[-1]
    if last in ORDINAL_WORDS:
        words[-1] = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def digits_words(text: str) -> list[str]:
    return [ONES[int(c)] for c in text if c.isdigit()]


def _number_token(tok: str) -> list[str] | None:
    """Words for a token that is a number in some form, else None."""
    t = tok.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", tok) else tok
    if t and t[0] in CURRENCY and re.fullmatch(r".\d+(\.\d\d)?", t):
        one, many, sub1, subn = CURRENCY[t[0]]
        whole, _, frac = t[1:].partition(".")
        out = number_words(int(whole)) + [one if int(whole) == 1 else many]
        if frac and int(frac):
            out += ["and"] + number_words(int(frac)) + [sub1 if int(frac) == 1 else subn]
        return out
    m = re.fullmatch(r"(\d+)(st|nd|rd|th)", t, re.I)
    if m:
        return ordinal_words(int(m.group(1)))
    m = re.fullmatch(r"(\d+)s", t)  # 1990s, 80s
    if m:
        words = year_words(int(m.group(1))) if len(m.group(1)) == 4 else number_words(int(m.group(1)))
        last = words[-1]
        words[-1] = (last[:-1] + "ies") if last.endswith("y") else last + "s"
        return words
    m = re.fullmatch(r"(\d+)(\.(\d+))?(%?)", t)
    if m:
        whole, frac, pct = m.group(1), m.group(3), m.group(4)
        if len(whole) > 1 and whole.startswith("0"):
            words = digits_words(whole)
        elif len(whole) == 4 and not frac and not pct and 1100 <= int(whole) <= 2099:
            words = year_words(int(whole))
        elif len(whole) > 15:
            words = digits_words(whole)
        else:
            words = number_words(int(whole))
        if frac:
            words += ["point"] + digits_words(frac)
        if pct:
            words.append("percent")
        return words
    if re.fullmatch(r"[\d.:/\-]+", t) and any(c.isdigit() for c in t):
        out: list[str] = []
        for part in re.split(r"([.:/\-])", t):
            if part.isdigit():
                out += number_words(int(part)) if len(part) < 5 else digits_words(part)
        return out
    return None


def split_written(script: str) -> list[str]:
    """The script's written tokens (whitespace separated, punctuation kept)."""
    return script.split()


def normalise(script: str, known=None) -> list[Token]:
    """Spoken words of a script, each pointing at its written token.

    ``known(word) -> bool`` says whether the pronunciation dictionary has a
    word; it decides whether an all-capitals token like "NASA" is read as a
    word or spelled ("GPU" -> g p u).
    """
    text = unicodedata.normalize("NFKC", script)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2014", " ").replace("\u2013", " ")
    out: list[Token] = []
    for i, raw in enumerate(split_written(text)):
        for piece in re.split(r"(?<=[A-Za-z])[-/](?=[A-Za-z])|—", raw):  # well-known, and/or
            core = piece.strip(".,;:!?\"()[]{}<>«»…*_~`|")
            if not core:
                continue
            for sym, word in SYMBOLS.items():
                if core == sym:
                    out.append(Token(word, i))
                    core = ""
            if not core:
                continue
            num = _number_token(core)
            if num is None and re.search(r"\d", core):
                # mixed letters and digits: "mp3", "covid19", "b2b"
                num = []
                for part in re.findall(r"\d+|[A-Za-z']+", core):
                    num += _number_token(part) or [part.lower()]
            if num is not None:
                out += [Token(w, i) for w in num]
                continue
            core = core.strip("'")
            for sym, word in SYMBOLS.items():
                core = core.replace(sym, f" {word} ")
            for part in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)*", core):
                low = part.lower()
                is_acronym = (part.isupper() and 1 < len(part) <= 5 and part.isascii()
                              and (known is None or not known(low) or len(part) <= 3 and not _vowel_in(low)))
                if is_acronym:
                    out += [Token(c, i, spelled=True) for c in low]
                else:
                    out.append(Token(low, i))
    return out


def _vowel_in(word: str) -> bool:
    return any(c in "aeiouy" for c in word)
