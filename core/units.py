"""The named expression units shared by A2M, emotion mapping, scene cues and renderers.

A MotionTrack stores one weight per unit per frame (0 = rest, 1 = full).
The geometry of each unit (a displacement field over the face mesh) lives in
the renderer; this module only fixes names and order so tracks stay portable.
Adding a unit appends to the list: existing track files keep their meaning
because tracks store unit names, not indices.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# name -> (group, short description)
UNITS: dict[str, tuple[str, str]] = {
    # visemes (speech)
    "jaw_open": ("viseme", "jaw drops, lips part (open vowels)"),
    "lip_round": ("viseme", "lips round and push forward (oo, w, o)"),
    "lip_stretch": ("viseme", "lips spread wide (ee, s)"),
    "lip_close": ("viseme", "lips pressed shut (p, b, m)"),
    "labiodental": ("viseme", "lower lip to upper teeth (f, v)"),
    "tongue_show": ("viseme", "tongue tip visible (th, l)"),
    # FACS-like action units (emotion, scene cues)
    "brow_inner_up": ("au", "AU1 inner brow raiser"),
    "brow_outer_up": ("au", "AU2 outer brow raiser"),
    "brow_lower": ("au", "AU4 brow lowerer (knit brows)"),
    "upper_lid_raise": ("au", "AU5 upper lid raiser (wide eyes)"),
    "cheek_raise": ("au", "AU6 cheek raiser"),
    "lid_tighten": ("au", "AU7 lid tightener"),
    "nose_wrinkle": ("au", "AU9 nose wrinkler"),
    "upper_lip_raise": ("au", "AU10 upper lip raiser"),
    "lip_corner_pull": ("au", "AU12 lip corner puller (smile)"),
    "lip_corner_depress": ("au", "AU15 lip corner depressor"),
    "chin_raise": ("au", "AU17 chin raiser"),
    "lip_press": ("au", "AU24 lip pressor"),
    "eye_blink": ("au", "AU45 both eyes close"),
    "eye_squint": ("au", "AU44 squint"),
    "contempt_corner": ("au", "AU14 one-sided lip corner (contempt)"),
    # appended later: one eye alone (the subject's own left/right)
    "wink_left": ("au", "AU46 left eye closes alone (wink)"),
    "wink_right": ("au", "AU46 right eye closes alone (wink)"),
    # appended later: whole-face expressions learned from real actors (MEAD,
    # level 3): a landmark shape and a skin ratio map each (core/render/appearance.py)
    "expr_happy": ("expr", "learned happy face: smile, cheek bulge, crow's feet"),
    "expr_sad": ("expr", "learned sad face: inner brows up, corners and chin"),
    "expr_angry": ("expr", "learned angry face: lowered brows, glabella furrow"),
    "expr_surprised": ("expr", "learned surprised face: raised brows, forehead lines"),
    "expr_fearful": ("expr", "learned fearful face: raised drawn brows, wide eyes"),
    "expr_disgusted": ("expr", "learned disgusted face: nose wrinkle, raised upper lip"),
}

UNIT_NAMES: list[str] = list(UNITS)

# Head pose columns in MotionTrack.head: degrees, then fractions of face width.
HEAD_COLUMNS = ("yaw", "pitch", "roll", "tx", "ty", "scale")


# Learned whole-face units may go below zero: -k undoes k of that expression
# where the portrait itself shows it (a grinning photo made sad), and above
# one for an exaggerated, cartoon-like face. Every other unit is 0..1.
LEARNED_RANGE = (-1.0, 1.5)


def unit_range(name: str) -> tuple[float, float]:
    """(low, high) a unit's weight may take."""
    return LEARNED_RANGE if UNITS.get(name, ("",))[0] == "expr" else (0.0, 1.0)


def clip_weights(weights, units=None):
    """Weights (..., U) clipped to each unit's range, in place; returns them."""
    lo, hi = _bounds(tuple(units) if units is not None else tuple(UNIT_NAMES))
    np.clip(weights, lo, hi, out=weights)
    return weights


@lru_cache(maxsize=8)
def _bounds(names: tuple[str, ...]):
    return (np.array([unit_range(u)[0] for u in names], np.float32),
            np.array([unit_range(u)[1] for u in names], np.float32))
