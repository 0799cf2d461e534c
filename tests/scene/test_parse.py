"""Free wording -> actions: keywords, embeddings, adverbs, negation, order, unknowns."""

from __future__ import annotations

import pytest

from core.scene.parse import MATCH_THRESHOLD, embedding_match, parse_description


def actions(text):
    return [c.action for c in parse_description(text).cues]


def test_the_issue_examples():
    p = parse_description("smiles warmly and nods")
    assert [c.action for c in p.cues] == ["smile", "nod"] and not p.unmapped
    p = parse_description("looks away, thoughtful, then raises her eyebrows")
    by = {c.action: c for c in p.cues}
    assert by["look"].direction == "away" and by["look"].t1 == 0.5
    assert by["thoughtful"].t0 == 0.0 and by["raise_brows"].t0 == 0.5 and by["raise_brows"].t1 == 1.0


@pytest.mark.parametrize("text, expected", [
    ("smirks", "smile"), ("cries", "sad"), ("peeks upward", "look"), ("agrees", "nod"),
])
def test_paraphrases_without_keywords_map_by_embedding(text, expected):
    p = parse_description(text)
    assert [c.action for c in p.cues] == [expected]
    assert p.cues[0].match == "embedding" and p.cues[0].score >= MATCH_THRESHOLD


@pytest.mark.parametrize("text", ["juggles", "waves her hand", "gives a thumbs up", "scratches her nose",
                                  "dances on the table"])
def test_things_a_face_cannot_do_are_reported(text):
    p = parse_description(text)
    assert p.cues == [] and p.unmapped == [text]


def test_intensity_from_adverbs():
    slight = parse_description("smiles slightly").cues[0].intensity
    normal = parse_description("smiles").cues[0].intensity
    broad = parse_description("smiles broadly").cues[0].intensity
    assert slight < normal < broad


def test_negation_and_persistent_attributes():
    c = parse_description("speaks without smiling").cues
    assert [(x.action, x.negated) for x in c] == [("smile", True)]
    p = parse_description("nods, then looks left; eyes half-closed, mouth slightly open")
    attrs = [x for x in p.cues if x.action in ("eyes_half_closed", "mouth_open")]
    assert len(attrs) == 2 and all(x.t0 == 0 and x.t1 == 1 for x in attrs)


def test_directions_are_the_subjects_own_sides():
    assert parse_description("looks left").cues[0].direction == "left"
    assert parse_description("looks to the viewer's left").cues[0].direction == "right"
    assert parse_description("lowers her gaze").cues[0].direction == "down"
    assert parse_description("shakes head no").cues[0].negated is False


def test_every_library_example_maps_to_its_own_action():
    from core.scene.actions import ACTIONS

    for a in ACTIONS:
        for phrase in a.phrases:
            name, score, _ = embedding_match(phrase)
            assert name == a.name and score > 0.99, (phrase, name)
