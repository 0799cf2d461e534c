"""Visemes from phones: closures, anticipation, coarticulation."""

from __future__ import annotations

import numpy as np

from core.motion.visemes import LEAD_S, bilabial_frames, coarticulate
from core.tracks import Phone

FPS = 25.0


def seq(labels: str, dur: float = 0.12, t0: float = 0.3, cons: float | None = None) -> list[Phone]:
    """Phones in a row; ``cons`` gives consonants their own duration."""
    out, t = [Phone("SIL", 0.0, t0)], t0
    for lab in labels.split():
        d = cons if cons is not None and lab[0] not in "AEIOU" else dur
        out.append(Phone(lab, round(t, 3), round(t + d, 3), 0))
        t += d
    out.append(Phone("SIL", round(t, 3), round(t + 0.5, 3)))
    return out


def frames(phones, n=None):
    n = n or int(np.ceil(phones[-1].end * FPS))
    return coarticulate(phones, n, FPS), n


def test_every_bilabial_closes_the_lips_fully():
    ph = seq("AA M AA P AA B AA M", dur=0.15, cons=0.07)  # 9 phones/s, short closures
    w, n = frames(ph)
    ranges = bilabial_frames(ph, FPS, n)
    assert len(ranges) == 4
    for a, b in ranges:
        assert np.all(w["lip_close"][a:b + 1] == 1.0) and np.all(w["jaw_open"][a:b + 1] == 0.0)
    # and the vowels between them open (the lips are already moving towards the next one)
    centre = lambda p: int(((p.start + p.end) / 2 - LEAD_S / 2) * FPS)
    assert all(w["jaw_open"][centre(p)] > 0.25 and w["lip_close"][centre(p)] < 0.5
               for p in ph if p.label == "AA")


def test_labiodental_and_rounding_targets():
    w, _ = frames(seq("F AA V"))
    ph = seq("F AA V")
    c = lambda p: int(((p.start + p.end) / 2 - LEAD_S) * FPS)
    assert w["labiodental"][c(ph[1])] > 0.7 and w["labiodental"][c(ph[2])] < 0.3
    w2, _ = frames(seq("UW"))
    w3, _ = frames(seq("IY"))
    assert w2["lip_round"].max() > 0.7 and w3["lip_round"].max() < 0.1
    assert w3["lip_stretch"].max() > 0.5


def test_lips_anticipate_the_sound():
    """Rounding for 'oo' is under way during the 's' before it, and the jaw
    opens before the vowel's acoustic start (lead)."""
    ph = seq("S T UW", dur=0.1)
    w, n = frames(ph)
    s_mid = int(((ph[1].start + ph[1].end) / 2) * FPS)
    assert w["lip_round"][s_mid] > 0.25
    ph_iy = seq("S T IY", dur=0.1)
    w_iy, _ = frames(ph_iy)
    assert w["lip_round"][s_mid] > w_iy["lip_round"][s_mid] + 0.2  # coarticulation, not a fixed 's'
    vowel = ph_iy[3]
    onset = int(vowel.start * FPS)
    assert w_iy["jaw_open"][onset - 1] > 0.5 * w_iy["jaw_open"].max() * 0.3


def test_pauses_rest_the_mouth_and_reopen_before_speech():
    ph = [Phone("AA", 0.0, 0.4, 0), Phone("SIL", 0.4, 1.6), Phone("AA", 1.6, 2.0, 1)]
    w, n = frames(ph, 50)
    mid = int(1.0 * FPS)
    assert w["jaw_open"][mid] < 0.05
    # shut, not just nearly: at 0.7 a portrait photographed mid-word kept part of its own gap
    # open in every pause (the HDTF speaker's lips read 0.00 through hers; docs/a2m.md)
    assert w["lip_close"][mid] > 0.95
    # the lips part before the voice comes back
    assert w["lip_close"][int(1.55 * FPS)] < 0.5 * w["lip_close"][mid]


def test_a_short_silence_keeps_the_lips_apart():
    """A 0.3-s silence is a gap inside the phrase (KatieHill's lips part through hers); 1.2 s is a rest."""
    short = [Phone("AA", 0.0, 0.4, 0), Phone("SIL", 0.4, 0.7), Phone("AA", 0.7, 1.1, 1)]
    w, _ = frames(short, 30)
    gap = slice(int(0.45 * FPS), int(0.65 * FPS) + 1)
    assert w["lip_close"][gap].max() < 0.5
    assert w["jaw_open"][gap].min() > 0.2
    long_ = [Phone("AA", 0.0, 0.4, 0), Phone("SIL", 0.4, 1.6), Phone("AA", 1.6, 2.0, 1)]
    w, _ = frames(long_, 50)
    assert w["lip_close"][int(0.9 * FPS)] > 0.95
