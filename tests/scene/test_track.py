"""Scene segments: ordered, non-overlapping, inside the narration."""

from __future__ import annotations

import pytest

from core.errors import UserInputError
from core.scene.track import segment_at, validate_segments
from core.tracks import SceneSegment


def seg(a, b, text="smiles"):
    return SceneSegment(a, b, text)


def test_sorted_and_touching_segments_pass():
    out = validate_segments([seg(3, 5, "nods"), seg(0, 3)], duration=6.0)
    assert [(s.start, s.end) for s in out] == [(0, 3), (3, 5)]
    assert segment_at(out, 3.0) == 1 and segment_at(out, 5.5) == -1


@pytest.mark.parametrize("segs, duration, words", [
    ([seg(0, 3), seg(2.5, 4)], 10, "overlap"),
    ([seg(0, 30)], 10, "past the end"),
    ([seg(12, 13)], 10, "after the narration"),
    ([seg(2, 1)], 10, "ends before"),
    ([seg(-1, 1)], 10, "before 0"),
    ([seg(0, 1, "   ")], 10, "no text"),
    ([seg(0, 1, "x" * 400)], 10, "characters"),
])
def test_bad_segments_raise_user_input_error(segs, duration, words):
    with pytest.raises(UserInputError) as e:
        validate_segments(segs, duration)
    assert words in str(e.value)
    assert e.value.fix


def test_end_rounding_is_trimmed_to_the_narration():
    out = validate_segments([seg(0, 10.03)], duration=10.0)
    assert out[0].end == 10.0
