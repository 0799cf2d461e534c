"""Values that flow between pipeline stages, and their versioned JSON form.

Every arrow in the data flow is one of these dataclasses. ``Tracks`` bundles
them for ``--save-tracks`` / ``--load-tracks`` and for the app, so an edited
emotion curve can be re-rendered without re-analysing anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserInputError
from core.units import HEAD_COLUMNS, UNIT_NAMES

TRACKS_SCHEMA = 1

EMOTIONS: tuple[str, ...] = (
    "neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted", "contempt",
)


def _arr(values: Any, dtype=np.float32) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


def _round(a: np.ndarray, nd: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), nd).tolist()


@dataclass
class Word:
    text: str
    start: float
    end: float


@dataclass
class Phone:
    """An ARPAbet phone without stress digits ("AA", "P", "SIL")."""

    label: str
    start: float
    end: float
    word: int = -1  # index into Alignment.words, -1 for silence


@dataclass
class Alignment:
    """Word and phone timings of the narration.

    ``source`` says how they were obtained: "forced" (script + pocketsphinx),
    "asr" (recognised text, then forced), or "energy" (no words: the
    language-independent path).
    """

    script: str = ""
    words: list[Word] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    source: str = "energy"
    confidence: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Alignment":
        return cls(
            script=d.get("script", ""),
            words=[Word(**w) for w in d.get("words", [])],
            phones=[Phone(**p) for p in d.get("phones", [])],
            source=d.get("source", "energy"),
            confidence=float(d.get("confidence", 0.0)),
            warnings=list(d.get("warnings", [])),
        )


@dataclass
class EmotionTrack:
    """Per-frame emotion: valence/arousal in [-1, 1], class probabilities.

    ``sources`` holds each modality's overall confidence (0..1) so the user
    can see why the fusion went the way it did.
    """

    fps: float
    valence: np.ndarray
    arousal: np.ndarray
    intensity: np.ndarray
    probs: np.ndarray  # (T, len(classes))
    classes: tuple[str, ...] = EMOTIONS
    sources: dict[str, float] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(len(self.valence))

    @classmethod
    def neutral(cls, n_frames: int, fps: float) -> "EmotionTrack":
        probs = np.zeros((n_frames, len(EMOTIONS)), np.float32)
        probs[:, 0] = 1.0
        z = np.zeros(n_frames, np.float32)
        return cls(fps=fps, valence=z, arousal=z.copy(), intensity=z.copy(), probs=probs)

    def to_dict(self) -> dict:
        return {
            "fps": self.fps,
            "classes": list(self.classes),
            "valence": _round(self.valence),
            "arousal": _round(self.arousal),
            "intensity": _round(self.intensity),
            "probs": _round(self.probs),
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "EmotionTrack":
        classes = tuple(d.get("classes", EMOTIONS))
        n = len(d["valence"])
        probs = _arr(d.get("probs") or np.zeros((n, len(classes))))
        return cls(
            fps=float(d["fps"]),
            valence=_arr(d["valence"]),
            arousal=_arr(d["arousal"]),
            intensity=_arr(d.get("intensity", [0.0] * n)),
            probs=probs.reshape(n, len(classes)),
            classes=classes,
            sources=dict(d.get("sources", {})),
        )


@dataclass
class SceneSegment:
    """A stretch of the timeline with a free-text description of behaviour."""

    start: float
    end: float
    text: str
    source: str = "user"  # "user", "llm", "auto"


@dataclass
class MouthKey:
    """A hand-set mouth shape over [start, end] (narration time), overriding the automatic lip-sync.

    ``shape`` is one of core.mouth_keys.SHAPES ("auto" keeps the automatic
    shape and only scales it; "rest" silences the mouth); ``strength``
    scales how far the mouth opens into that shape (0..2, 1 = as drawn).
    """

    start: float
    end: float
    shape: str = "auto"
    strength: float = 1.0


@dataclass
class SceneTrack:
    segments: list[SceneSegment] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"segments": [asdict(s) for s in self.segments]}

    @classmethod
    def from_dict(cls, d: dict) -> "SceneTrack":
        return cls([SceneSegment(**s) for s in d.get("segments", [])])


@dataclass
class MotionTrack:
    """Per-frame motion the renderers consume.

    weights: (T, U) expression-unit weights in [0, 1] for ``units``.
    head:    (T, 6) yaw, pitch, roll in degrees (subject's left = +yaw,
             chin up = +pitch, head tilted to subject's left = +roll),
             tx, ty as fractions of the face width, and a scale factor
             offset (0 = unchanged).
    gaze:    (T, 2) iris offset x, y in [-1, 1] of the eye opening.
    """

    fps: float
    weights: np.ndarray
    head: np.ndarray
    gaze: np.ndarray
    units: tuple[str, ...] = tuple(UNIT_NAMES)

    @property
    def n_frames(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def rest(cls, n_frames: int, fps: float) -> "MotionTrack":
        return cls(
            fps=fps,
            weights=np.zeros((n_frames, len(UNIT_NAMES)), np.float32),
            head=np.zeros((n_frames, len(HEAD_COLUMNS)), np.float32),
            gaze=np.zeros((n_frames, 2), np.float32),
        )

    def unit(self, name: str) -> np.ndarray:
        """View of one unit's weights (writable)."""
        return self.weights[:, self.units.index(name)]

    def to_dict(self) -> dict:
        return {
            "fps": self.fps,
            "units": list(self.units),
            "head_columns": list(HEAD_COLUMNS),
            "weights": _round(self.weights),
            "head": _round(self.head),
            "gaze": _round(self.gaze),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "MotionTrack":
        units = tuple(d["units"])
        w = _arr(d["weights"]).reshape(-1, len(units))
        # Re-map onto the current unit list so old files stay usable.
        full = np.zeros((w.shape[0], len(UNIT_NAMES)), np.float32)
        for i, name in enumerate(units):
            if name in UNIT_NAMES:
                full[:, UNIT_NAMES.index(name)] = w[:, i]
        return cls(
            fps=float(d["fps"]),
            weights=full,
            head=_arr(d["head"]).reshape(-1, len(HEAD_COLUMNS)),
            gaze=_arr(d["gaze"]).reshape(-1, 2),
        )


@dataclass
class MediaRef:
    """A file the tracks were computed from, identified by content hash."""

    path: str
    sha256: str


@dataclass
class Tracks:
    """Everything between analysis and rendering, saved with --save-tracks."""

    fps: float
    duration: float
    audio: MediaRef
    portrait: MediaRef
    alignment: Alignment
    emotion: EmotionTrack
    scenes: SceneTrack
    motion: MotionTrack
    settings: dict[str, Any] = field(default_factory=dict)
    schema: int = TRACKS_SCHEMA

    def to_dict(self) -> dict:
        return {
            "schema": self.schema,
            "kind": "synchrorama-tracks",
            "fps": self.fps,
            "duration": self.duration,
            "audio": asdict(self.audio),
            "portrait": asdict(self.portrait),
            "settings": self.settings,
            "alignment": self.alignment.to_dict(),
            "emotion": self.emotion.to_dict(),
            "scenes": self.scenes.to_dict(),
            "motion": self.motion.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Tracks":
        return cls(
            schema=int(d.get("schema", TRACKS_SCHEMA)),
            fps=float(d["fps"]),
            duration=float(d["duration"]),
            audio=MediaRef(**d["audio"]),
            portrait=MediaRef(**d["portrait"]),
            settings=dict(d.get("settings", {})),
            alignment=Alignment.from_dict(d.get("alignment", {})),
            emotion=EmotionTrack.from_dict(d["emotion"]),
            scenes=SceneTrack.from_dict(d.get("scenes", {})),
            motion=MotionTrack.from_dict(d["motion"]),
        )

    def check_audio(self, audio: str | Path, tracks_path: str | Path, setting: str = "--audio",
                    override: str = "--allow-other-audio") -> None:
        """Refuse to render these tracks over a narration other than the one they were analysed from.

        The lips would move to the old speech, cut to its length. The file's
        sha256 is compared (a renamed or moved copy is fine); tracks written
        without one cannot be checked and are accepted.
        """
        from core.io.files import sha256_file

        if not self.audio.sha256 or sha256_file(audio) == self.audio.sha256:
            return
        raise UserInputError(
            f"these tracks were analysed from another narration ({Path(self.audio.path).name}), "
            f"not {setting} {audio}.", tracks_path,
            f"Pass the narration they were made from, re-analyse without --load-tracks, or add {override} "
            "to render them over this one anyway.")

    def save(self, path: str | Path) -> None:
        from core.io.files import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), separators=(",", ":")))

    @classmethod
    def load(cls, path: str | Path) -> "Tracks":
        from core.io.files import read_user_text

        path = Path(path)
        try:
            data = json.loads(read_user_text(path, "tracks file", "Give the .json file --save-tracks wrote."))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserInputError(
                f"not a valid tracks file ({exc.__class__.__name__}).", path,
                "Save it again with --save-tracks.",
            ) from None
        if not isinstance(data, dict) or data.get("kind") != "synchrorama-tracks":
            raise UserInputError("not a SynchroRaMa tracks file.", path, "Save one with --save-tracks.")
        schema = data.get("schema", 0)
        if isinstance(schema, bool) or not isinstance(schema, int):
            raise UserInputError(f"the tracks file's schema is {schema!r}, not a whole number.", path,
                                 "Save it again with --save-tracks.")
        if schema > TRACKS_SCHEMA:
            raise UserInputError(
                f"tracks schema {data.get('schema')} is newer than this version supports ({TRACKS_SCHEMA}).",
                path, "Update SynchroRaMa Studio.",
            )
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(f"tracks file is incomplete or corrupt ({exc}).", path,
                                 "Save it again with --save-tracks.") from None
