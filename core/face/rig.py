"""Build a FaceRig from a portrait: landmarks, face box and the work crop.

mediapipe's face mesh (bundled in the 0.10.21 wheel) gives 478 points with
relative depth. Detection runs on a downscaled copy for speed, then the mesh
is re-fitted on a crop around the chosen face at full resolution so that
both tiny and huge portraits get precise landmarks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserInputError
from core.face.native_log import quiet_native_stderr, start_quietly

DETECT_MAX_SIDE = 1280
MIN_FACE_PX = 48  # below this the mesh is too coarse to animate


@dataclass
class FaceBox:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class FaceRig:
    """A portrait ready to animate.

    landmarks: (478, 3) in full-image pixels; z is mediapipe's relative depth
    scaled like x (negative = towards the camera).
    crop: (cx, cy, side) square work region in full-image pixels; it may
    extend past the image border (the renderer pads).
    """

    image: np.ndarray
    landmarks: np.ndarray
    box: FaceBox
    crop: tuple[float, float, float]
    n_faces: int = 1
    face_index: int = 0
    all_boxes: list[FaceBox] = field(default_factory=list)
    path: str = ""
    notes: list[str] = field(default_factory=list)   # for the user: e.g. the portrait was scaled down

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]


_mesh_lock = threading.Lock()
_mesh_cache: dict[int, object] = {}


def _face_mesh(max_faces: int):
    """One mediapipe FaceMesh per max_faces, reused (creating one costs ~100 ms)."""
    with _mesh_lock:
        if max_faces not in _mesh_cache:
            from core.face.mp_import import import_mediapipe

            mp = import_mediapipe()

            _mesh_cache[max_faces] = start_quietly(lambda: mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=0.5))
        return _mesh_cache[max_faces]


def release_models() -> None:
    """Close the face mesh and detector graphs (the next use builds them again)."""
    with _mesh_lock:
        for held in _mesh_cache.values():
            for graph in held if isinstance(held, tuple) else (held,):
                graph.close()
        _mesh_cache.clear()


def detect_landmarks(rgb: np.ndarray, max_faces: int = 1) -> list[np.ndarray]:
    """Run the face mesh; return a list of (478, 3) arrays in pixels."""
    h, w = rgb.shape[:2]
    mesh = _face_mesh(max_faces)
    with _mesh_lock:  # FaceMesh graphs are not re-entrant
        with quiet_native_stderr():
            res = mesh.process(np.ascontiguousarray(rgb))
    out = []
    for face in res.multi_face_landmarks or []:
        pts = np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], np.float32)
        out.append(pts)
    return out


# A face counts when the short-range detector is sure of it or the full-range
# detector finds it at all. Measured on the dev portraits: people, a painting
# and a 3-D cartoon score 0.93-0.97 / 0.83-0.97; a dog's muzzle scores 0.80
# short-range and nothing full-range (the mesh alone happily fits a dog).
SHORT_RANGE_MIN = 0.85
FULL_RANGE_MIN = 0.5


def _detectors():
    with _mesh_lock:
        if "det" not in _mesh_cache:
            from core.face.mp_import import import_mediapipe

            mp = import_mediapipe()

            fd = mp.solutions.face_detection
            _mesh_cache["det"] = (
                start_quietly(lambda: fd.FaceDetection(model_selection=0, min_detection_confidence=0.3)),
                start_quietly(lambda: fd.FaceDetection(model_selection=1, min_detection_confidence=0.3)))
        return _mesh_cache["det"]


def confirmed_faces(rgb: np.ndarray, faces: list[np.ndarray]) -> list[np.ndarray]:
    """Keep the meshes that a face detector also vouches for."""
    h, w = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)  # mediapipe refuses views such as img[:, 150:]
    short, full = _detectors()
    with _mesh_lock, quiet_native_stderr():
        found = [(d, SHORT_RANGE_MIN) for d in short.process(rgb).detections or []]
        found += [(d, FULL_RANGE_MIN) for d in full.process(rgb).detections or []]
    kept = []
    for pts in faces:
        cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
        for det, need in found:
            b = det.location_data.relative_bounding_box
            inside = b.xmin * w <= cx <= (b.xmin + b.width) * w and b.ymin * h <= cy <= (b.ymin + b.height) * h
            if inside and det.score[0] >= need:
                kept.append(pts)
                break
    return kept


# A photo stored sideways or upside down (no EXIF orientation, or one the camera got wrong): the
# detectors score the upright face 0.80-0.97 on the dev portraits and the three other turns of the
# same photos 0.57-0.84, always at least 0.12 lower. A turn that scores this well, and this much
# better than the photo as it is, says which way to rotate it.
ORIENTATION_SURE = 0.85
ORIENTATION_MARGIN = 0.1
SIDEWAYS_ROLL_DEG = 60.0   # a face turned further than this in the picture plane is lying on its side
_TURNS = {1: "90 degrees counter-clockwise", 2: "180 degrees (it is upside down)", 3: "90 degrees clockwise"}


def _detection_score(rgb: np.ndarray) -> float:
    """The surest face detection in an image (short- or full-range detector), 0 when none."""
    rgb = np.ascontiguousarray(rgb)
    short, full = _detectors()
    with _mesh_lock, quiet_native_stderr():
        found = list(short.process(rgb).detections or []) + list(full.process(rgb).detections or [])
    return max((float(d.score[0]) for d in found), default=0.0)


def upright_turn(rgb: np.ndarray, as_is: float | None = None) -> int:
    """How many quarter turns counter-clockwise (np.rot90's k) make the photo's face upright:
    0 when the photo is upright as it is, or when no turn is clearly better."""
    scores = {k: _detection_score(np.rot90(rgb, k)) for k in (1, 2, 3)}
    scores[0] = _detection_score(rgb) if as_is is None else as_is
    best = max(scores, key=scores.get)
    if best and scores[best] >= ORIENTATION_SURE and scores[best] >= scores[0] + ORIENTATION_MARGIN:
        return best
    return 0


def face_roll(pts: np.ndarray) -> float:
    """The face's turn in the picture plane in degrees: 0 upright, -90 with the top of the head to
    the image's left, +90 to its right, +-180 upside down."""
    import math

    d = pts[152, :2] - pts[10, :2]   # forehead -> chin
    return math.degrees(math.atan2(-float(d[0]), float(d[1])))


def _turned_photo(path, turn: int, found: bool) -> UserInputError:
    if found:
        what = "the face is on its side in the photo" if turn in (1, 3) else "the photo is upside down"
    else:
        what = "no upright face found: the photo looks " + ("turned on its side" if turn in (1, 3) else "upside down")
    return UserInputError(f"{what}.", path, f"Rotate the photo {_TURNS[turn]} so the face is upright, "
                                            "and try again.")


def _box_of(pts: np.ndarray) -> FaceBox:
    return FaceBox(float(pts[:, 0].min()), float(pts[:, 1].min()),
                   float(pts[:, 0].max()), float(pts[:, 1].max()))


def _resize(rgb: np.ndarray, scale: float, upscale: str = "cubic") -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if scale < 1 else (cv2.INTER_CUBIC if upscale == "cubic" else cv2.INTER_LINEAR)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)


def crop_for(pts: np.ndarray) -> tuple[float, float, float]:
    """Square work region: the face with hair, ears, neck and some shoulder."""
    box = _box_of(pts)
    side = 2.2 * max(box.width, box.height)
    cx = (box.x0 + box.x1) / 2
    cy = (box.y0 + box.y1) / 2 - 0.05 * box.height
    return float(cx), float(cy), float(side)


def build_rig(image: np.ndarray, face: int | None = None, path: str | Path = "") -> FaceRig:
    """Find the face(s) and fit the mesh.

    face: which face when there are several (0 = largest); None picks the
    largest and records how many were found so the UI can offer a choice.
    """
    h, w = image.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = _resize(image, scale) if scale < 1 else image
    faces = confirmed_faces(small, detect_landmarks(small, max_faces=6))
    if not faces and min(h, w) < 400:  # small portraits: give the detector more pixels
        up = 512 / min(h, w)
        big = _resize(image, up)
        faces = [f / up for f in confirmed_faces(big, detect_landmarks(big, max_faces=6))]
        scale = 1.0
    if not faces:
        turn = upright_turn(small)
        if turn:
            raise _turned_photo(path, turn, found=False)
        raise UserInputError("no face found in the image.", path,
                             "Use a photo where one face is clearly visible, frontal and lit.")
    faces = [f / scale for f in faces]
    faces.sort(key=lambda p: -_box_of(p).width * _box_of(p).height)
    boxes = [_box_of(p) for p in faces]
    idx = 0 if face is None else face
    if not 0 <= idx < len(faces):
        raise UserInputError(f"face {idx} requested but {len(faces)} found.", path,
                             f"Use --face 0..{len(faces) - 1} (0 is the largest).")
    pts = faces[idx]
    pts = _refine(image, pts)
    _check_upright(small, pts, path)
    box = _box_of(pts)
    if max(box.width, box.height) < MIN_FACE_PX:
        raise UserInputError(f"the face is only {box.width:.0f} pixels wide.", path,
                             f"Use a photo where the face is at least {MIN_FACE_PX * 2} pixels wide.")
    return FaceRig(image=image, landmarks=pts, box=box, crop=crop_for(pts),
                   n_faces=len(faces), face_index=idx, all_boxes=boxes, path=str(path))


def _check_upright(small: np.ndarray, pts: np.ndarray, path) -> None:
    """Refuse a face found in a sideways or upside-down photo, saying which way to rotate it.

    The mesh fits sideways faces (and, now and then, an upside-down one as if it were upright), but
    the motion is made for an upright head. A face lying on its side is told by its roll; an upside-
    down photo only by the detectors scoring the turned photo far better, which is checked when the
    photo as it is does not give a sure detection (0.08 s; a sure upright face costs one pass).
    """
    roll = face_roll(pts)
    if abs(roll) > SIDEWAYS_ROLL_DEG:
        turn = 2 if abs(roll) > 135 else (3 if roll < 0 else 1)
        raise _turned_photo(path, turn, found=True)
    as_is = _detection_score(small)
    if as_is < 0.9:
        turn = upright_turn(small, as_is)
        if turn:
            raise _turned_photo(path, turn, found=True)


def _refine(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Re-fit the mesh on a ~512 px crop around the face for precise points."""
    cx, cy, side = crop_for(pts)
    side *= 0.8
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    fine = fit_in_square(image, x0, y0, int(round(side)), 512)
    if fine is None:
        return pts
    # sanity: the refit must describe the same face
    if np.linalg.norm(fine[1, :2] - pts[1, :2]) > 0.2 * _box_of(pts).width:
        return pts
    return fine.astype(np.float32)


def fit_in_square(image: np.ndarray, x0: int, y0: int, side: int, target: int,
                  upscale: str = "cubic") -> np.ndarray | None:
    """The mesh fitted on the square (x0, y0, side) of ``image`` scaled to ``target`` px (area when
    shrinking, ``upscale`` "cubic" or "linear" when growing), in the image's pixels; None if no face."""
    crop = extract_square(image, x0, y0, side)
    scale = target / side
    faces = detect_landmarks(_resize(crop, scale, upscale), max_faces=1)
    if not faces:
        return None
    pts = faces[0] / scale
    pts[:, 0] += x0
    pts[:, 1] += y0
    return pts


def extract_square(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """Cut a square that may reach past the border, padding by reflection."""
    import cv2

    h, w = image.shape[:2]
    pad_l, pad_t = max(0, -x0), max(0, -y0)
    pad_r, pad_b = max(0, x0 + side - w), max(0, y0 + side - h)
    sub = image[max(0, y0):min(h, y0 + side), max(0, x0):min(w, x0 + side)]
    if pad_l or pad_t or pad_r or pad_b:
        sub = cv2.copyMakeBorder(sub, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(sub)


# The face is rebuilt at the output's resolution over its whole work crop (2.2 face widths), so a
# close-up from a large photo costs like a photo of crop-side squared pixels (a 5900 px crop: 35 MP)
# even within WORK_MAX_PIXELS. Above this side the portrait is scaled down until the crop fits.
WORK_MAX_CROP = 4096


def scale_rig(rig: FaceRig, width: int, height: int) -> FaceRig:
    """The same rig on the portrait resized to (width, height): image, points, boxes and crop."""
    from core.io.image import resize_rgb

    h0, w0 = rig.image.shape[:2]
    sx, sy = width / w0, height / h0
    pts = rig.landmarks.copy()
    pts[:, 0] *= sx
    pts[:, 1] *= sy
    pts[:, 2] *= sx                      # depth is scaled like x

    def box(b: FaceBox) -> FaceBox:
        return FaceBox(b.x0 * sx, b.y0 * sy, b.x1 * sx, b.y1 * sy)

    return FaceRig(image=resize_rgb(rig.image, width, height), landmarks=pts.astype(np.float32), box=box(rig.box),
                   crop=crop_for(pts), n_faces=rig.n_faces, face_index=rig.face_index,
                   all_boxes=[box(b) for b in rig.all_boxes], path=rig.path, notes=list(rig.notes))


def load_rig(path: str | Path, face: int | None = None) -> FaceRig:
    """The portrait's rig at a working size: photos over WORK_MAX_PIXELS, or whose face crop is
    wider than WORK_MAX_CROP, are scaled down, and ``notes`` says so (the CLI prints it, --json
    and the studio list it with the render's warnings)."""
    from core.io.image import WORK_MAX_PIXELS, fit_pixels, load_portrait, scaled_note

    image, original = load_portrait(path)
    rig = build_rig(image, face=face, path=path)
    why = f"over {WORK_MAX_PIXELS / 1e6:.0f} megapixels renders slowly"
    side = rig.crop[2]
    if side > WORK_MAX_CROP:
        w, h = rig.size
        s = WORK_MAX_CROP / side
        rig = scale_rig(rig, *fit_pixels(w, h, int(w * h * s * s)))
        why = (f"its face area is {side * original[0] / w:.0f} pixels across; the face is rebuilt at that size "
               f"every frame, and {WORK_MAX_CROP} is plenty")
    if rig.size != original:
        rig.notes.append(scaled_note(path, original, rig.size, why))
    return rig
