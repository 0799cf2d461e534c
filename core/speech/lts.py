"""Letter-to-sound for words the pronunciation dictionary does not have.

Two steps, both offline:

1. *Dictionary pieces.* Names and coinages are often glued from known
   words ("SynchroRaMa" = synchro + rama, "livestream" = live + stream).
   A dynamic programme splits the word into the fewest dictionary words
   of three or more letters (case changes inside the written word are
   preferred split points); letters left over go to step 2.
2. *Spelling rules.* Context-dependent rewrite rules in the style of the
   classic rule-based readers: each rule is ``left[match]right -> phones``;
   the first rule whose letters and contexts fit at the current position
   is applied and the position advances past the matched letters.

Context symbols in the rules (our own compact set):
``#`` one or more vowels, ``:`` zero or more consonants, ``^`` exactly one
consonant, ``.`` one voiced consonant, ``+`` a front vowel (e, i, y),
``%`` a suffix (e, er, es, ed, ing, ely, ement, ful, ly, ness), ``|`` the word edge.

Measured on 3000 random dictionary words (see tests/speech/test_lts.py):
the rules alone get about two thirds of the phones right, which is what an
aligner needs to place a word; the exact vowel matters little for the
mouth because visemes group phones.
"""

from __future__ import annotations

import functools
import re

VOWELS = set("aeiouy")
VOICED = set("bdvgjlmnrwz")
FRONT = set("eiy")
SUFFIXES = ("ement", "ness", "ing", "ely", "ful", "er", "es", "ed", "ly", "e")

# (left, match, right, phones). Order matters: more specific first.
_RULES_TEXT = r"""
|[a]| = AH
[are]| = AA R
w[ar] = AO R
w[a] = AA
[aw] = AO
[ay] = EY
[augh] = AO
[au] = AO
[ai] = EY
#:[age]| = IH JH
#:[al]| = AH L
[all] = AO L
[alk] = AO K
[alt] = AO L T
#:[able]| = AH B AH L
[ary]| = EH R IY
[ation] = EY SH AH N
[ar]# = EH R
[ar] = AA R
[a]^% = EY
[a] = AE
[bb] = B
[b] = B
[chr] = K R
[ch] = CH
[cc]+ = K S
[ck] = K
[cc] = K
[ci]a = SH
[ci]o = SH
[c]+ = S
[c] = K
[dd] = D
[dg]e = JH
[d] = D
|:[e]| = IY
t[ed]| = IH D
d[ed]| = IH D
#:[ed]| = D
s[es]| = IH Z
x[es]| = IH Z
z[es]| = IH Z
h[es]| = IH Z
#:[e]s| =
#:[e]| =
[ear]^ = ER
[ear] = IH R
[ea] = IY
[ee] = IY
[eigh] = EY
[ei] = IY
[ey] = IY
[eu] = Y UW
[ew] = UW
[er]# = EH R
[er] = ER
[e]^% = IY
[e] = EH
[ff] = F
[f] = F
|[gh] = G
[gh] =
|[gn] = N
[gg] = G
[g]+ = JH
[g] = G
[h]# = HH
[h] =
[igh] = AY
[ign]| = AY N
#:[ie]| = IY
[ie]| = AY
[ier] = IY ER
[ie] = IY
[ir]# = AY R
[ir] = ER
[ild] = AY L D
[ind] = AY N D
[ious] = IY AH S
[ion] = Y AH N
[ique] = IY K
[i]^% = AY
[i]a = IY
[i]o = IY
[i]| = IY
[i] = IH
[j] = JH
|[kn] = N
[kk] = K
[k] = K
[ll] = L
^[le]| = AH L
[l] = L
[mm] = M
[mb]| = M
[m] = M
[nn] = N
[ng] = NG
[nk] = NG K
[n] = N
[oo]k = UH
[oo]d = UH
[oo] = UW
[ough]t = AO
[ough] = OW
[ould] = UH D
[ou] = AW
[ow]| = OW
[ow] = AW
[oy] = OY
[oi] = OY
[oa] = OW
[oe]| = OW
[or] = AO R
[old] = OW L D
[o]| = OW
[o]^% = OW
#:[on]| = AH N
[o] = AA
[ph] = F
[pp] = P
[p] = P
[qu] = K W
[q] = K
[rr] = R
[rh] = R
[r] = R
[sh] = SH
[sch] = S K
[ssion] = SH AH N
[ss] = S
[sion] = ZH AH N
#[s]# = Z
.[s]| = Z
e[s]| = Z
[s] = S
[tch] = CH
[th] = TH
[tion] = SH AH N
[tt] = T
[ture] = CH ER
[t] = T
[u]| = UW
[ue]| = UW
[ui] = UW
[ur]# = UH R
[ur] = ER
[u]^% = UW
[u] = AH
[v] = V
[wh] = W
|[wr] = R
[w] = W
|[x] = Z
[x] = K S
|:[y]| = AY
[y]| = IY
[y]# = Y
[y]^e| = AY
[y] = IH
[zz] = Z
[z] = Z
"""


def _parse_rules() -> dict[str, list[tuple[str, str, str, list[str]]]]:
    """``left[match]right = PHONES`` lines -> rules grouped by first letter."""
    rules: dict[str, list[tuple[str, str, str, list[str]]]] = {}
    for line in _RULES_TEXT.strip().splitlines():
        m = re.fullmatch(r"(\S*)\[([a-z]+)\](\S*) =(.*)", line.strip())
        if m is None:
            raise ValueError(f"bad letter-to-sound rule: {line!r}")
        left, match, right, phones = m.groups()
        rules.setdefault(match[0], []).append((left, match, right, phones.split()))
    return rules


RULES = _parse_rules()


def _match_right(pattern: str, word: str, pos: int) -> bool:
    """Does ``pattern`` fit the letters of ``word`` starting at ``pos``?"""
    i = pos
    k = 0
    while k < len(pattern):
        c = pattern[k]
        if c == "|":
            if i != len(word):
                return False
        elif c == "#":
            if i >= len(word) or word[i] not in VOWELS:
                return False
            while i < len(word) and word[i] in VOWELS:
                i += 1
            k += 1
            continue
        elif c == ":":
            while i < len(word) and word[i] not in VOWELS:
                i += 1
            k += 1
            continue
        elif c == "^":
            if i >= len(word) or word[i] in VOWELS:
                return False
        elif c == ".":
            if i >= len(word) or word[i] not in VOICED:
                return False
        elif c == "+":
            if i >= len(word) or word[i] not in FRONT:
                return False
        elif c == "%":
            return any(word.startswith(s, i) and (i + len(s) == len(word)) for s in SUFFIXES)
        else:
            if i >= len(word) or word[i] != c:
                return False
        i += 1
        k += 1
    return True


def _match_left(pattern: str, word: str, pos: int) -> bool:
    """Does ``pattern`` fit the letters of ``word`` ending just before ``pos``?"""
    i = pos - 1
    for c in reversed(pattern):
        if c == "|":
            if i != -1:
                return False
            continue
        if c == "#":
            if i < 0 or word[i] not in VOWELS:
                return False
            while i >= 0 and word[i] in VOWELS:
                i -= 1
            continue
        if c == ":":
            while i >= 0 and word[i] not in VOWELS:
                i -= 1
            continue
        if c == "^":
            ok = i >= 0 and word[i] not in VOWELS
        elif c == ".":
            ok = i >= 0 and word[i] in VOICED
        elif c == "+":
            ok = i >= 0 and word[i] in FRONT
        else:
            ok = i >= 0 and word[i] == c
        if not ok:
            return False
        i -= 1
    return True


def rules_phones(word: str) -> list[str]:
    """Pronounce a lower-case word with the spelling rules alone."""
    word = re.sub(r"[^a-z]", "", word.lower())
    out: list[str] = []
    i = 0
    while i < len(word):
        for left, match, right, phones in RULES.get(word[i], []):
            if word.startswith(match, i) and _match_left(left, word, i) \
                    and _match_right(right, word, i + len(match)):
                out += phones
                i += len(match)
                break
        else:
            i += 1
    # collapse doubled consonants across rule boundaries ("bookkeeper")
    dedup: list[str] = []
    for p in out:
        if dedup and p == dedup[-1] and p not in _VOWEL_PHONES:
            continue
        dedup.append(p)
    return _reduce_unstressed(dedup) or ["AH"]


def _reduce_unstressed(phones: list[str]) -> list[str]:
    """Most English words stress an early syllable; later short vowels reduce to schwa.

    Only the lax vowels AE, EH and AA reduce (IH, long vowels and diphthongs
    keep their quality); an ER/AO R ending after the first syllable is read ER.
    """
    out = list(phones)
    vowels = [i for i, p in enumerate(out) if p in _VOWEL_PHONES]
    for k, i in enumerate(vowels):
        if k == 0:
            continue
        if out[i] in ("AE", "EH", "AA"):
            out[i] = "AH"
        elif out[i] == "AO" and i + 1 < len(out) and out[i + 1] == "R" and i + 2 == len(out):
            out[i:i + 2] = ["ER", ""]
    return [p for p in out if p]


_VOWEL_PHONES = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def pronounce(written: str, lookup) -> list[str]:
    """Phones for a word the dictionary lacks.

    ``written`` keeps the user's capitalisation (a lower-to-upper change is a
    likely boundary between glued words); ``lookup(word) -> list[str] | None``
    reads the pronunciation dictionary.
    """
    word = re.sub(r"[^A-Za-z]", "", written)
    if not word:
        return ["AH"]
    low = word.lower()
    case_breaks = {i for i in range(1, len(word)) if word[i].isupper() and word[i - 1].islower()}
    return _segment(low, frozenset(case_breaks), _Lookup(lookup))


class _Lookup:
    """Hashable wrapper so the segmentation can be memoised per call."""

    def __init__(self, fn):
        self.fn = fn
        self.cache: dict[str, list[str] | None] = {}

    def __call__(self, w: str) -> list[str] | None:
        if w not in self.cache:
            self.cache[w] = self.fn(w)
        return self.cache[w]


MIN_PIECE = 3
RULE_SPAN_COST = 2.0
RULE_LETTER_COST = 0.25


def _segment(low: str, breaks: frozenset[int], lookup: _Lookup) -> list[str]:
    """Fewest-pieces split into dictionary words (>= 3 letters) and rule spans."""
    n = len(low)

    @functools.lru_cache(maxsize=None)
    def best(i: int) -> tuple[float, tuple[tuple[str, bool], ...]]:
        if i == n:
            return 0.0, ()
        options = []
        for j in range(n, i, -1):
            piece = low[i:j]
            edge_bonus = -0.3 if (j in breaks or j == n) and (i in breaks or i == 0) else 0.0
            if len(piece) >= MIN_PIECE and lookup(piece) is not None:
                cost, rest = best(j)
                options.append((1.0 + edge_bonus + cost, ((piece, True),) + rest))
        # a rule-read span up to the next point where a dictionary piece can start
        for j in range(i + 1, n + 1):
            cost, rest = best(j)
            options.append((RULE_SPAN_COST + RULE_LETTER_COST * (j - i) + cost, ((low[i:j], False),) + rest))
        return min(options, key=lambda o: o[0])

    phones: list[str] = []
    for piece, in_dict in best(0)[1]:
        phones += (lookup(piece) or []) if in_dict else rules_phones(piece)
    return phones or rules_phones(low)
