"""Script sentiment: VADER valence, NRC classes, negation, alignment to time."""

import numpy as np

from core.emotion.text import score_text, text_track
from core.tracks import EMOTIONS, Alignment, Word


def top(text: str) -> str:
    s = score_text(text).summary()
    return max(s["probs"], key=s["probs"].get)


def test_known_sentences():
    assert score_text("I am so happy to see you!").summary()["valence"] > 0.5
    assert top("I am so happy to see you!") == "happy"
    assert score_text("This is terrible, I am furious.").summary()["valence"] < -0.4
    assert top("I am furious and angry at them.") == "angry"
    assert top("The meeting is at three.") == "neutral"


def test_negation_flips():
    assert score_text("I am not happy at all.").summary()["valence"] < 0
    assert top("I am not happy at all.") != "happy"


def test_intensifier_strengthens():
    plain = score_text("It was good.").summary()["valence"]
    strong = score_text("It was extremely good!").summary()["valence"]
    assert strong > plain > 0


def test_text_track_follows_word_times():
    words = [Word(w, i * 0.4, i * 0.4 + 0.35) for i, w in enumerate(
        "The day was calm. Then I felt terrible grief and sorrow.".split())]
    al = Alignment(script="The day was calm. Then I felt terrible grief and sorrow.", words=words,
                   source="forced")
    tr = text_track(al, 25.0, 125)
    assert tr.probs.shape == (125, len(EMOTIONS))
    first, second = slice(0, 30), slice(70, 110)
    assert tr.valence[second].mean() < tr.valence[first].mean() - 0.3
    assert tr.probs[second, EMOTIONS.index("sad")].mean() > tr.probs[first, EMOTIONS.index("sad")].mean()
    assert tr.confidence[second].mean() > 0.3


def test_empty_script_is_neutral():
    tr = text_track(Alignment(), 25.0, 10)
    assert np.allclose(tr.probs[:, 0], 1) and np.all(tr.confidence == 0)
