"""build_unit_fields is a table of small named builders (issue 17): every geometric unit has one."""

from __future__ import annotations

import numpy as np

from core.render.mesh_units import UNIT_BUILDERS, build_unit_fields
from core.units import UNIT_NAMES, UNITS
from tests.conftest import SAMPLE


def test_every_geometric_unit_has_a_builder_and_the_learned_ones_are_left_to_appearance():
    geometric = {name for name, (group, _) in UNITS.items() if group != "expr"}
    assert set(UNIT_BUILDERS) == geometric


def test_each_builder_moves_the_face_and_the_learned_rows_stay_zero():
    from core.face.rig import load_rig

    pts = load_rig(SAMPLE / "portrait.png").landmarks.astype(np.float64)
    frame, fields = build_unit_fields(pts)
    assert fields.shape == (len(UNIT_NAMES), len(pts), 2) and fields.dtype == np.float32
    for name, f in zip(UNIT_NAMES, fields):
        moved = float(np.abs(f).max())
        if name in UNIT_BUILDERS:
            assert moved > 0.005, name
        else:
            assert moved == 0.0, name
    # the blink is the two winks together
    u = {n: i for i, n in enumerate(UNIT_NAMES)}
    assert np.allclose(fields[u["eye_blink"]], fields[u["wink_right"]] + fields[u["wink_left"]], atol=1e-6)


def test_the_jaw_top_is_widened_and_consonant_openings_are_not():
    """Open vowels reach real talkers' 95th-percentile openings (0.16 -> 0.22 eye widths at weight 1);
    openings of 0.1-0.4 move by at most 6 %, so the mouth does not sit wider between syllables."""
    from core.render.mesh_units import jaw_response

    w = np.linspace(0, 1, 101)
    r = jaw_response(w)
    assert r[0] == 0 and np.all(np.diff(r) > 0)
    assert abs(r[-1] - 1.4) < 1e-6
    low = (w >= 0.1) & (w <= 0.4)
    assert np.all(r[low] / w[low] <= 1.065)
