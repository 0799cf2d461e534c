"""Index sets of mediapipe's 478-point face mesh, named by what they are.

"right"/"left" are the subject's own sides (the subject's right eye is on
the image's left), as in mediapipe.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478

LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
              375, 321, 405, 314, 17, 84, 181, 91, 146]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308,
              324, 318, 402, 317, 14, 87, 178, 88, 95]
UPPER_LIP_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_LIP_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
UPPER_LIP_INNER = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_LIP_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
MOUTH_CORNERS = (61, 291)
INNER_CORNERS = (78, 308)
INNER_UPPER_MID, INNER_LOWER_MID = 13, 14

RIGHT_EYE = [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7]
LEFT_EYE = [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249]
RIGHT_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_LOWER = [163, 144, 145, 153, 154, 155, 7]
LEFT_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
LEFT_EYE_LOWER = [390, 373, 374, 380, 381, 382, 249]
RIGHT_EYE_CORNERS = (33, 133)  # outer, inner
LEFT_EYE_CORNERS = (263, 362)
RIGHT_IRIS = [468, 469, 470, 471, 472]  # centre first
LEFT_IRIS = [473, 474, 475, 476, 477]

RIGHT_BROW = [46, 53, 52, 65, 55, 70, 63, 105, 66, 107]
LEFT_BROW = [276, 283, 282, 295, 285, 300, 293, 334, 296, 336]

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365,
             379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93,
             234, 127, 162, 21, 54, 103, 67, 109]
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


def eye_aspect_ratios(pts: np.ndarray) -> tuple[float, float]:
    """Lid gap / eye width of the subject's right and left eye (open ~0.25-0.35, shut <0.1)."""
    def one(upper: int, lower: int, corners: tuple[int, int]) -> float:
        w = np.linalg.norm(pts[corners[0], :2] - pts[corners[1], :2]) + 1e-6
        return float(np.linalg.norm(pts[upper, :2] - pts[lower, :2]) / w)

    r = (one(159, 145, RIGHT_EYE_CORNERS) + one(158, 153, RIGHT_EYE_CORNERS)) / 2
    l_ = (one(386, 374, LEFT_EYE_CORNERS) + one(385, 380, LEFT_EYE_CORNERS)) / 2
    return r, l_


def eye_aspect_ratio(pts: np.ndarray) -> float:
    """Mean lid gap / eye width over both eyes (about 0.25-0.35 open, <0.1 closed)."""
    return sum(eye_aspect_ratios(pts)) / 2


def mouth_opening(pts: np.ndarray) -> float:
    """Inner-lip gap over outer eye-corner distance (scale-free)."""
    gap = np.linalg.norm(pts[INNER_UPPER_MID, :2] - pts[INNER_LOWER_MID, :2])
    eyes = np.linalg.norm(pts[33, :2] - pts[263, :2]) + 1e-6
    return float(gap / eyes)
