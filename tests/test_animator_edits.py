"""The core side of the studio's animator edits (issue 18): word retiming and retyping keep the phones in
step, mouth keys override the automatic mouth, and edits timed to a narration follow a new one."""

from __future__ import annotations

import numpy as np
import pytest

from core.edits import keep_user_segments, split_segment, stretched, timed_edits
from core.errors import UserInputError
from core.mouth_keys import apply_mouth_keys, automatic_spans, check_mouth_keys, shape_of_phone, shape_targets
from core.project import Project
from core.speech.edit import move_word_edge, retext_word, retime_word, spread_phones, word_phones
from core.tracks import Alignment, MotionTrack, MouthKey, Phone, SceneSegment, Word


def _alignment() -> Alignment:
    """'hello' 0-0.5, pause, 'world' 0.7-1.2, closing silence to 1.5."""
    words = [Word("hello", 0.0, 0.5), Word("world", 0.7, 1.2)]
    phones = [Phone("HH", 0.0, 0.1, 0), Phone("AH", 0.1, 0.2, 0), Phone("L", 0.2, 0.3, 0), Phone("OW", 0.3, 0.5, 0),
              Phone("SIL", 0.5, 0.7, -1),
              Phone("W", 0.7, 0.8, 1), Phone("ER", 0.8, 1.0, 1), Phone("L", 1.0, 1.1, 1), Phone("D", 1.1, 1.2, 1),
              Phone("SIL", 1.2, 1.5, -1)]
    return Alignment(script="hello world", words=words, phones=phones, source="forced", confidence=0.9)


def _contiguous(al: Alignment) -> None:
    for a, b in zip(al.phones, al.phones[1:]):
        assert b.start == pytest.approx(a.end, abs=1e-6), (a, b)


def test_moving_a_word_edge_stretches_its_phones_and_the_pause():
    al = _alignment()
    out = move_word_edge(al, 0, "end", 0.6)
    assert out.words[0].end == 0.6 and al.words[0].end == 0.5           # a new alignment; the old one kept
    ph = [p for p in out.phones if p.word == 0]
    assert [p.label for p in ph] == ["HH", "AH", "L", "OW"]
    assert [p.end for p in ph] == pytest.approx([0.12, 0.24, 0.36, 0.6])  # stretched x1.2
    sil = next(p for p in out.phones if p.label == "SIL")
    assert (sil.start, sil.end) == pytest.approx((0.6, 0.7))
    _contiguous(out)
    assert out.phones[-1].label == "SIL" and out.phones[-1].end == 1.5   # the ending as it was


def test_a_word_edge_stops_at_its_neighbours_and_a_no_op_changes_nothing():
    al = _alignment()
    assert move_word_edge(al, 0, "end", 0.9).words[0].end == 0.7         # not over 'world'
    assert move_word_edge(al, 1, "start", 0.1).words[1].start == 0.5    # not over 'hello'
    assert move_word_edge(al, 1, "end", 9.0, duration=1.5).words[1].end == 1.5
    same = retime_word(al, 0, 0.0, 0.5)
    assert [(p.label, p.start, p.end, p.word) for p in same.phones] == \
        [(p.label, p.start, p.end, p.word) for p in al.phones]
    with pytest.raises(ValueError):
        move_word_edge(al, 0, "middle", 0.3)


def test_retyping_a_word_reads_its_phones_again():
    al = _alignment()
    out = retext_word(al, 1, "moon")
    assert out.words[1].text == "moon" and (out.words[1].start, out.words[1].end) == (0.7, 1.2)
    ph = [p for p in out.phones if p.word == 1]
    assert [p.label for p in ph] == ["M", "UW", "N"]
    assert ph[0].start == 0.7 and ph[-1].end == 1.2
    assert ph[1].end - ph[1].start == pytest.approx(2 * (ph[0].end - ph[0].start))   # vowels twice as long
    _contiguous(out)
    assert word_phones("42") == ["F", "AO", "R", "T", "IY", "T", "UW"]               # numbers as spoken
    assert len(word_phones("Zorblaxian")) >= 6                                       # spelling rules
    with pytest.raises(UserInputError):
        retext_word(al, 0, "   ")


def test_spread_phones_fill_the_span():
    ph = spread_phones(["S", "IY"], 1.0, 1.3, 4)
    assert ph[0].start == 1.0 and ph[-1].end == 1.3 and {p.word for p in ph} == {4}


def test_mouth_shapes_from_phones_and_the_automatic_lane():
    assert [shape_of_phone(p) for p in ("AA", "IY", "OW", "UW", "M", "F", "TH", "S", "SIL")] == \
        ["AI", "E", "O", "U", "MBP", "FV", "L", "etc", "rest"]
    spans = automatic_spans(_alignment().phones)
    assert spans[0] == (0.0, 0.2, "AI")                   # HH + AH merged
    assert ("rest" in {s for _, _, s in spans}) and spans[-1][2] == "rest"
    assert shape_targets("MBP")[3] == 1.0 and shape_targets("AI")[0] > 0.9
    with pytest.raises(KeyError):
        shape_targets("auto")


def _motion(n=50, fps=25.0) -> MotionTrack:
    m = MotionTrack.rest(n, fps)
    m.unit("jaw_open")[:] = 0.6
    m.unit("lip_close")[:] = 0.2
    return m


def test_mouth_keys_override_the_speech_units_inside_their_span_only():
    m = _motion()
    changed = apply_mouth_keys(m, [MouthKey(0.8, 1.2, "rest", 1.0)], lead_s=0.0)
    t = (np.arange(50) + 0.5) / 25
    inside = (t > 0.8) & (t < 1.2)
    far = (t < 0.75) | (t > 1.25)
    assert changed > 0
    from core.motion.visemes import REST_CLOSE

    # "rest" is the silence viseme: lips together at its closure (1.0 since the lips shut in pauses)
    assert np.all(m.unit("jaw_open")[inside] == 0)
    assert np.all(m.unit("lip_close")[inside] == pytest.approx(REST_CLOSE)) and REST_CLOSE >= 0.7
    assert np.all(m.unit("jaw_open")[far] == pytest.approx(0.6))
    ramp = (t > 1.2) & (t < 1.24)
    assert np.all((m.unit("jaw_open")[ramp] > 0) & (m.unit("jaw_open")[ramp] < 0.6))   # eased out


def test_auto_strength_scales_the_opening_but_keeps_the_closure():
    m = _motion()
    apply_mouth_keys(m, [MouthKey(0.0, 2.0, "auto", 1.5)], lead_s=0.0)
    mid = slice(5, 45)
    assert np.allclose(m.unit("jaw_open")[mid], 0.9) and np.allclose(m.unit("lip_close")[mid], 0.2)


def test_bad_mouth_keys_name_themselves():
    with pytest.raises(UserInputError, match="mouth key 2 has the shape"):
        check_mouth_keys([MouthKey(0, 1, "O"), MouthKey(1, 2, "Q")])
    with pytest.raises(UserInputError, match="strength"):
        check_mouth_keys([MouthKey(0, 1, "O", 3.0)])
    with pytest.raises(UserInputError, match="spans"):
        check_mouth_keys([MouthKey(1, 1, "O")])


def test_edits_timed_to_a_narration_stretch_to_a_new_one():
    p = Project(scenes=[SceneSegment(1.0, 2.0, "nods")], mouth_keys=[MouthKey(0.5, 0.7, "O")],
                curves={"channels": {"valence": {"keys": [{"t": 2.0, "v": 0.5, "out": [0.4, 0.1]}]}}},
                alignment=_alignment(), script="hi")
    e = timed_edits(p)
    assert (e.words, e.mouth_keys, e.scenes, e.curve_keys, e.script, e.timed) == (2, 1, 1, 1, True, True)
    new = stretched(p, 4.0, 8.0)
    assert (new["scenes"][0].start, new["scenes"][0].end) == (2.0, 4.0)
    assert (new["mouth_keys"][0].start, new["mouth_keys"][0].end) == (1.0, 1.4)
    key = new["curves"]["channels"]["valence"]["keys"][0]
    assert key["t"] == 4.0 and key["out"] == [0.8, 0.1] and new["alignment"] is None
    assert stretched(p, 4.0, 1.0)["scenes"] == [SceneSegment(0.25, 0.5, "nods", "user")]
    from core.edits import stretch_scenes

    assert stretch_scenes([SceneSegment(3.0, 4.0, "late")], 1.0, 2.0) == []     # past the new end: dropped


def test_user_segments_are_kept_and_suggestions_fill_around_them():
    mine = SceneSegment(2.0, 4.0, "winks", "user")
    sug = [SceneSegment(0.0, 3.0, "smiles", "auto"), SceneSegment(3.0, 6.0, "nods", "llm"),
           SceneSegment(6.0, 6.2, "blinks", "auto")]
    out = keep_user_segments([mine], sug)
    assert mine in out
    assert SceneSegment(0.0, 2.0, "smiles", "auto") in out and SceneSegment(4.0, 6.0, "nods", "llm") in out
    assert all(s.text != "blinks" for s in out)                          # 0.2 s: too short to keep
    parts = split_segment([mine], 0, 3.0)
    assert [(s.start, s.end, s.text) for s in parts] == [(2.0, 3.0, "winks"), (3.0, 4.0, "winks")]
    with pytest.raises(ValueError):
        split_segment([mine], 0, 2.05)
