"""The portrait's own teeth are split at the bite line, not at the middle of the opening."""

from __future__ import annotations

import numpy as np

from core.render.mouth import _bite_line


def _mouth(bite_row: int | None) -> np.ndarray:
    img = np.full((60, 80, 3), 200, np.uint8)       # teeth colour everywhere
    if bite_row is not None:
        img[bite_row - 1: bite_row + 2] = 30          # the dark line where the rows meet
        img[:, ::9] = 150                             # gaps between single teeth (vertical)
    return img


def test_grin_is_split_where_the_teeth_meet():
    xs = np.arange(10, 70) + 0.5
    top, bot = np.full(len(xs), 10.0), np.full(len(xs), 50.0)
    split = _bite_line(_mouth(38), top, bot, xs)     # upper teeth fill 70 % of the opening
    assert np.all(np.abs(split - 38) <= 2.5)


def test_flat_opening_is_split_in_the_middle():
    xs = np.arange(10, 70) + 0.5
    top, bot = np.full(len(xs), 10.0), np.full(len(xs), 50.0)
    assert np.allclose(_bite_line(_mouth(None), top, bot, xs), 30.0)
