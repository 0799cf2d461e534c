"""The project document: one JSON file the studio opens, edits and saves.

A project names its media (portrait, narration) and holds everything the
user authored on top of the analysis: the script, the face choice, emotion
settings and keyframed curves, scene segments, edited word timings and the
export settings. The analysis itself is not stored: it is cached by content
hash (core.cache), so reopening a project is fast and the file stays small
and diff-friendly.

Saving is atomic (write, fsync, rename) so a crash mid-save never leaves a
half-written project. While editing, the app writes an autosave copy to the
user data directory; ``find_recoveries`` lists the copies a crashed session
left behind so the app can offer them on the next start.

Schema history (``migrate`` upgrades older files on load):
- 0: the first drafts: ``image``/``audio`` keys, ``scenes`` as a bare list.
- 1: ``media`` block, ``scenes`` as a SceneTrack dict, ``export`` block.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserInputError
from core.io.files import atomic_write_text
from core.paths import data_dir
from core.tracks import EMOTIONS, Alignment, MouthKey, SceneSegment

KIND = "synchrorama-project"
SCHEMA = 1
SUFFIX = ".srproj"


@dataclass
class ExportOptions:
    """What an export uses unless the user changes it in the Export panel."""

    renderer: str = "mesh"
    avatar: str = ""          # diffusion renderer: model-store name
    size: int = 512           # face-crop render resolution
    max_output: int = 0       # cap on the video's long side (0 = portrait size)
    fps: float = 25.0
    crf: int = 18
    output: str = ""          # "" = beside the project, <name>.mp4

    @classmethod
    def from_dict(cls, d: dict) -> "ExportOptions":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class Project:
    """Everything the user authored; media referenced by path."""

    name: str = "Untitled"
    portrait: str = ""
    narration: str = ""
    script: str = ""
    face: int | None = None
    seed: int = 0
    emotion: str = "auto"              # "auto" or a class of tracks.EMOTIONS
    emotion_strength: float = 1.0
    head_motion: float = 1.0           # 0 still, 1 natural, 2 lively (core.motion.a2m)
    blink_rate: float = 17.0           # blinks per minute
    expressiveness: float = 1.0        # one knob over emotion strength and head motion (0..2)
    curves: dict = field(default_factory=dict)      # core.emotion.curves document, {} = none
    scenes: list[SceneSegment] = field(default_factory=list)
    alignment: Alignment | None = None  # user-edited word timings; None = as analysed
    mouth_keys: list[MouthKey] = field(default_factory=list)   # hand-set mouth shapes (core.mouth_keys)
    export: ExportOptions = field(default_factory=ExportOptions)
    path: str = ""                      # where it was loaded from / saved to (not stored)

    # -- serialisation -----------------------------------------------------
    def to_dict(self) -> dict:
        base = Path(self.path).parent if self.path else None
        return {
            "kind": KIND,
            "schema": SCHEMA,
            "name": self.name,
            "media": {"portrait": _rel(self.portrait, base), "narration": _rel(self.narration, base)},
            "script": self.script,
            "face": self.face,
            "seed": self.seed,
            "motion": {"head_motion": self.head_motion, "blink_rate": self.blink_rate,
                       # written only when set, so older files stay byte-identical on save
                       **({"expressiveness": self.expressiveness} if self.expressiveness != 1.0 else {})},
            "emotion": {"mode": self.emotion, "strength": self.emotion_strength,
                        "curves": self.curves},
            "scenes": {"segments": [asdict(s) for s in self.scenes]},
            "alignment": self.alignment.to_dict() if self.alignment is not None else None,
            **({"mouth": {"keys": [asdict(k) for k in self.mouth_keys]}} if self.mouth_keys else {}),
            "export": asdict(self.export),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict, path: str | Path | None = None) -> "Project":
        base = Path(path).parent if path else None
        media = d.get("media", {})
        emo = d.get("emotion", {})
        mode = str(emo.get("mode", "auto"))
        if mode not in ("auto",) + EMOTIONS:
            raise UserInputError(f"unknown emotion '{mode}' in the project.", path,
                                 f"Use auto or one of: {', '.join(EMOTIONS)}.")
        curves = emo.get("curves") or {}
        if curves:
            from core.emotion.curves import parse_curves

            parse_curves(curves, path)  # validate now: a bad curve must not surface at render time
        align = d.get("alignment")
        motion = d.get("motion")
        motion = {} if motion is None else motion
        if not isinstance(motion, dict):
            raise UserInputError("the project's motion settings are not a block of values.", path,
                                 'Write them as "motion": {"head_motion": 1.0, "blink_rate": 17}.')
        head, blink = _setting(motion, "head_motion", 1.0, path), _setting(motion, "blink_rate", 17.0, path)
        from core.motion.a2m import check_motion_settings

        check_motion_settings(head, blink, path)
        expressive = _setting(motion, "expressiveness", 1.0, path)
        if not 0.0 <= expressive <= MAX_EXPRESSIVENESS:
            raise UserInputError(f"the project's expressiveness is {expressive:g}.", path,
                                 f"Set motion.expressiveness from 0 to {MAX_EXPRESSIVENESS:g} (1 = as analysed).")
        from core.emotion.control import MAX_STRENGTH
        from core.io.checks import check_seed, check_strength
        from core.mouth_keys import check_mouth_keys

        mouth = d.get("mouth") or {}
        keys = check_mouth_keys([_mouth_key(k, n, path) for n, k in enumerate(mouth.get("keys", []), 1)], path)
        return cls(
            name=str(d.get("name", "Untitled")),
            portrait=_abs(media.get("portrait", ""), base),
            narration=_abs(media.get("narration", ""), base),
            script=str(d.get("script", "")),
            face=None if d.get("face") is None else int(d["face"]),
            seed=check_seed(d.get("seed", 0), "the project's seed", path),
            emotion=mode,
            emotion_strength=check_strength(emo.get("strength", 1.0), MAX_STRENGTH, "the project's emotion.strength",
                                            path),
            head_motion=head,
            blink_rate=blink,
            expressiveness=expressive,
            curves=curves,
            scenes=[SceneSegment(float(s["start"]), float(s["end"]), str(s["text"]),
                                 str(s.get("source", "user")))
                    for s in d.get("scenes", {}).get("segments", [])],
            alignment=_alignment(align, path),
            mouth_keys=keys,
            export=ExportOptions.from_dict(d.get("export", {})),
            path=str(path) if path else "",
        )

    # -- files ---------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        """Write atomically; relative media paths are relative to the file."""
        target = Path(path or self.path)
        if not str(target) or str(target) == ".":
            raise UserInputError("the project has no file name yet.", None, "Use Save As.")
        if target.suffix != SUFFIX:
            target = target.with_suffix(SUFFIX)
        self.path = str(target.resolve())
        atomic_write_text(Path(self.path), self.to_json())
        discard_autosave(self.path)
        return Path(self.path)

    def default_output(self) -> Path:
        if self.export.output:
            return Path(self.export.output)
        if self.path:
            return Path(self.path).with_suffix(".mp4")
        return Path.cwd() / "out" / f"{_slug(self.name)}.mp4"


def check_project_export(project: Project, output: str | Path | None = None, setting: str | None = None) -> Path:
    """The project's export settings and output, checked as the CLI checks its flags, before any work.

    Returns the output path. ``setting`` names how the output was chosen
    (``-o`` on the CLI); by default it is the project's own export.output.
    """
    from core.io.checks import check_export_settings, check_output

    where = project.path or None
    e = project.export
    from core.render.base import RENDERERS

    if not isinstance(e.renderer, str) or e.renderer not in RENDERERS:
        raise UserInputError(f"export.renderer is {e.renderer!r}.", where,
                             "Set export.renderer to " + " or ".join(f'"{n}"' for n in RENDERERS) + ".")
    if not isinstance(e.output, str):
        raise UserInputError(f"export.output is {e.output!r}, not a file name.", where,
                             'Set export.output to a file name, or "" for beside the project.')
    check_export_settings(fps=e.fps, size=e.size, crf=e.crf, max_output=e.max_output, where=where,
                          names={k: f"export.{k}" for k in ("fps", "size", "crf", "max_output")})
    out = Path(output) if output else project.default_output()
    if out.suffix.lower() != ".mp4":
        raise UserInputError("the output must be an .mp4 file.", out, "Name it OUT.mp4.")
    check_output(out, {"the project's portrait": project.portrait or None,
                       "the project's narration": project.narration or None,
                       "the project file": project.path or None},
                 setting=setting or "the project's export.output")
    from core.io.checks import check_room_for_video

    check_room_for_video(out, image=project.portrait or None, audio=project.narration or None, fps=e.fps,
                         crf=e.crf, max_output=e.max_output, setting=setting or "the project's export.output")
    return out


def _alignment(block: dict | None, path) -> Alignment | None:
    """The project's word timings; a damaged block names itself instead of Python's exception text."""
    if not block:
        return None
    try:
        return Alignment.from_dict(block)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UserInputError("the project's alignment (its word and phone timings) is damaged.", path,
                             'Remove the "alignment" block (they are found again from the narration), '
                             "or open the project's autosave copy.") from None


def _setting(block: dict, key: str, default: float, path) -> float:
    """A number from the project's motion block; anything else names the key."""
    v = block.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserInputError(f"the project's {key} is {v!r}, not a number.", path,
                             f"Set motion.{key} to a number (default {default:g}).")
    return float(v)


def _mouth_key(k, n: int, path) -> MouthKey:
    """One mouth key from the file; anything else names the key."""
    ok = (isinstance(k, dict) and all(not isinstance(k.get(f), bool) and isinstance(k.get(f), (int, float))
                                      for f in ("start", "end"))
          and isinstance(k.get("shape", "auto"), str)
          and not isinstance(k.get("strength", 1.0), bool) and isinstance(k.get("strength", 1.0), (int, float)))
    if not ok:
        raise UserInputError(f"the project file is damaged: its mouth key {n} is {k!r}.", path,
                             'Write each as {"start": 1.2, "end": 1.4, "shape": "O", "strength": 1.0}.')
    return MouthKey(float(k["start"]), float(k["end"]), str(k.get("shape", "auto")), float(k.get("strength", 1.0)))


def _slug(name: str) -> str:
    s = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip())
    return s or "untitled"


def _rel(p: str, base: Path | None) -> str:
    """Media inside the project's folder are stored relative so it can move."""
    if not p or base is None:
        return p
    try:
        return Path(os.path.relpath(Path(p).resolve(), base.resolve())).as_posix() \
            if Path(p).resolve().is_relative_to(base.resolve()) else str(Path(p).resolve())
    except (OSError, ValueError):
        return p


def _abs(p: str, base: Path | None) -> str:
    if not p:
        return ""
    q = Path(p)
    if not q.is_absolute() and base is not None:
        q = base / q
    return str(q.resolve()) if base is not None else str(q)


def migrate(d: dict, path: str | Path | None = None) -> dict:
    """Bring an older document up to SCHEMA (each step a small, tested function)."""
    schema = d.get("schema", 0)
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise UserInputError(f"the project's schema is {schema!r}, not a whole number.", path,
                             f"Set \"schema\" to {SCHEMA}, or open an older copy of the file.")
    if schema > SCHEMA:
        raise UserInputError(f"project schema {schema} is newer than this version supports ({SCHEMA}).",
                             path, "Update SynchroRaMa Studio to open it.")
    if schema == 0:
        d = dict(d)
        d["media"] = {"portrait": d.pop("image", ""), "narration": d.pop("audio", "")}
        sc = d.get("scenes", [])
        if isinstance(sc, list):
            d["scenes"] = {"segments": sc}
        d.setdefault("export", {})
        d["schema"] = 1
    return d


def load_project(path: str | Path) -> Project:
    """Read a project; anything wrong with the file is a UserInputError that says what."""
    path = Path(path)
    from core.io.files import read_user_text

    try:
        text = read_user_text(path, "project file", f"Pick a {SUFFIX} file.")
    except UnicodeDecodeError:
        raise UserInputError("is not a SynchroRaMa project (not text).", path,
                             f"Pick a {SUFFIX} file saved by SynchroRaMa Studio.") from None
    return project_from_text(text, path)


# key path -> (accepted types, in words); None is accepted where listed
_TYPES: dict[tuple[str, ...], tuple[tuple[type, ...], str]] = {
    ("name",): ((str,), "text"),
    ("script",): ((str,), "text"),
    ("face",): ((int, type(None)), "a face number (0 = the largest) or null"),
    ("seed",): ((int,), "a whole number"),
    ("media",): ((dict,), 'a block: {"portrait": "...", "narration": "..."}'),
    ("media", "portrait"): ((str,), "a file path"),
    ("media", "narration"): ((str,), "a file path"),
    ("emotion",): ((dict,), 'a block: {"mode": "auto", "strength": 1.0}'),
    ("emotion", "mode"): ((str,), "auto or an emotion name"),
    ("emotion", "strength"): ((int, float), "a number"),
    ("scenes",): ((dict,), 'a block: {"segments": [...]}'),
    ("scenes", "segments"): ((list,), "a list of scene segments"),
    ("export",): ((dict,), "a block of export settings"),
    ("alignment",): ((dict, type(None)), "word timings or null"),
    ("mouth",): ((dict,), 'a block: {"keys": [...]}'),
    ("mouth", "keys"): ((list,), "a list of mouth keys"),
}


def _check_types(data: dict, path: str | Path | None) -> None:
    """Wrong types name their key and the expected kind, instead of Python's exception text."""
    for keys, (kinds, words) in _TYPES.items():
        block: Any = data
        for k in keys[:-1]:
            block = block.get(k) if isinstance(block, dict) else None
        if not isinstance(block, dict) or keys[-1] not in block:
            continue
        v = block[keys[-1]]
        if isinstance(v, bool) or not isinstance(v, kinds):
            name = ".".join(keys)
            raise UserInputError(f"the project's {name} is {v!r}, not {words}.", path,
                                 f"Fix {name} in the file, or open its autosave copy.")
    for i, seg in enumerate(data.get("scenes", {}).get("segments", []) if isinstance(data.get("scenes"), dict) else []):
        ok = isinstance(seg, dict) and all(
            not isinstance(seg.get(k), bool) and isinstance(seg.get(k), t)
            and (t is str or math.isfinite(seg[k]))
            for k, t in (("start", (int, float)), ("end", (int, float)), ("text", str)))
        if not ok:
            raise UserInputError(f"the project file is damaged: its scene {i + 1} is {seg!r}.", path,
                                 'Write each as {"start": 0, "end": 2, "text": "..."}.')


def project_from_text(text: str, path: str | Path | None = None) -> Project:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"the project file is damaged (invalid JSON at line {exc.lineno}).", path,
                             "Open its autosave copy, or an older copy of the file.") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise UserInputError("is not a SynchroRaMa project.", path,
                             f"Pick a {SUFFIX} file saved by SynchroRaMa Studio.")
    data = migrate(data, path)
    _check_types(data, path)
    try:
        return Project.from_dict(data, path)
    except UserInputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserInputError(f"the project file is incomplete or damaged ({exc.__class__.__name__}: {exc}).",
                             path, "Open its autosave copy, or an older copy of the file.") from None


# -- autosave and crash recovery ---------------------------------------------------
def autosave_dir() -> Path:
    return data_dir() / "autosave"


def autosave_path(project_path: str | None, session: str = "") -> Path:
    """One autosave file per project file (or per untitled session)."""
    origin = str(Path(project_path).resolve()) if project_path else f"untitled:{session}"
    digest = hashlib.sha256(origin.encode()).hexdigest()[:16]
    return autosave_dir() / f"{digest}{SUFFIX}"


def write_autosave(project: Project, session: str = "") -> Path:
    """Write the current state beside a note of which file it belongs to."""
    target = autosave_path(project.path or None, session)
    doc = project.to_dict()
    doc["autosave"] = {"origin": project.path, "time": time.time(), "pid": os.getpid()}
    atomic_write_text(target, json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False))
    return target


def discard_autosave(project_path: str | None, session: str = "") -> None:
    autosave_path(project_path, session).unlink(missing_ok=True)


@dataclass
class Recovery:
    """An autosave copy a previous session left behind."""

    autosave: Path
    origin: str        # the project file it belongs to ("" = never saved)
    saved_at: float
    pid: int

    def load(self) -> Project:
        p = load_project(self.autosave)
        p.path = self.origin
        return p


def _alive(pid: int) -> bool:
    """Whether the session that wrote an autosave still runs (never os.kill on Windows: it terminates)."""
    from core.io.files import pid_alive

    return pid_alive(pid)


def find_recoveries() -> list[Recovery]:
    """Autosaves whose writing process is gone: a crash or a kill, newest first."""
    out = []
    d = autosave_dir()
    if not d.is_dir():
        return out
    for f in d.glob(f"*{SUFFIX}"):
        try:
            meta: dict[str, Any] = json.loads(f.read_text(encoding="utf-8")).get("autosave", {})
        except (OSError, ValueError, AttributeError):
            continue
        pid = int(meta.get("pid", 0))
        if _alive(pid):
            continue
        origin = str(meta.get("origin", ""))
        # a project saved after its autosave was written needs no recovery
        if origin and Path(origin).exists() and Path(origin).stat().st_mtime >= f.stat().st_mtime:
            f.unlink(missing_ok=True)
            continue
        out.append(Recovery(f, origin, float(meta.get("time", f.stat().st_mtime)), pid))
    return sorted(out, key=lambda r: -r.saved_at)


# -- from analysis + project to the tracks that get rendered ------------------------
def resample_emotion(track, fps: float, n: int):
    """The same emotion at another frame rate (nearest analysed frame)."""
    from dataclasses import replace

    import numpy as np

    if track.n_frames == n and abs(track.fps - fps) < 1e-9:
        return track
    src = np.clip(((np.arange(n) + 0.5) / fps * track.fps).astype(int), 0, max(track.n_frames - 1, 0))
    return replace(track, fps=fps, valence=track.valence[src].copy(), arousal=track.arousal[src].copy(),
                   intensity=track.intensity[src].copy(), probs=track.probs[src].copy())


def user_emotion(project: Project, analysed):
    """The analysed emotion with the project's forced class, curves and strength applied
    (the same order as the CLI: class, then curves, then strength)."""
    from core.emotion.control import MAX_STRENGTH, apply_curves, apply_user_control
    from core.emotion.curves import parse_curves

    track = apply_user_control(analysed, project.emotion, 1.0, None)
    if project.curves and project.curves.get("channels"):
        track = apply_curves(track, parse_curves(project.curves, project.path or None))
    strength, _ = with_expressiveness(project.emotion_strength, project.head_motion, project.expressiveness)
    if strength != 1.0:
        track = apply_user_control(track, "auto", min(strength, MAX_STRENGTH), None)
    return track


MAX_EXPRESSIVENESS = 2.0


def with_expressiveness(strength: float, head_motion: float, expressiveness: float) -> tuple[float, float]:
    """(emotion strength, head-motion amount) after the one expressiveness knob (studio and CLI alike),
    each kept inside its own range."""
    from core.emotion.control import MAX_STRENGTH
    from core.motion.a2m import HEAD_MOTION_RANGE

    lo, hi = HEAD_MOTION_RANGE
    return (float(min(strength * expressiveness, MAX_STRENGTH)),
            float(min(max(head_motion * expressiveness, lo), hi)))


def effective_head_motion(project: Project) -> float:
    """The head-motion amount after the expressiveness knob (kept inside the CLI's range)."""
    return with_expressiveness(project.emotion_strength, project.head_motion, project.expressiveness)[1]


def apply_project(project: Project, analysed, feats, fps: float | None = None,
                  warnings: list[str] | None = None):
    """Tracks to render: analysis + the user's edits, motion rebuilt (no re-analysis).

    ``analysed`` is the Tracks that core.pipeline.analyse returned for this
    project's media; ``feats`` its AudioFeatures. Scene segments that do not
    validate raise UserInputError naming the problem.
    """
    from dataclasses import replace

    from core.pipeline import build_motion, n_frames_for
    from core.scene.track import validate_segments
    from core.tracks import SceneTrack

    warnings = [] if warnings is None else warnings
    fps = float(fps or analysed.fps)
    n = n_frames_for(analysed.duration, fps)
    emotion = user_emotion(project, resample_emotion(analysed.emotion, fps, n))
    alignment = project.alignment if project.alignment is not None else analysed.alignment
    scenes = SceneTrack(validate_segments(list(project.scenes), analysed.duration))
    motion = build_motion(feats, alignment, emotion, scenes, fps, n, project.seed, warnings,
                          head_motion=effective_head_motion(project), blink_rate=project.blink_rate)
    if project.mouth_keys:
        from core.mouth_keys import apply_mouth_keys

        apply_mouth_keys(motion, project.mouth_keys)
    settings = dict(analysed.settings)
    settings.update({"seed": project.seed, "emotion": project.emotion, "head_motion": project.head_motion,
                     "blink_rate": project.blink_rate, "expressiveness": project.expressiveness,
                     "mouth_keys": len(project.mouth_keys),
                     "emotion_strength": project.emotion_strength, "face": project.face,
                     "warnings": list(settings.get("warnings", [])) + warnings})
    return replace(analysed, fps=fps, alignment=alignment, emotion=emotion, scenes=scenes,
                   motion=motion, settings=settings)


# -- one code path for the app's export and `synchrorama render --project` ----------
ANALYSIS_FPS = 25.0   # the app analyses and previews at this rate; exports resample to their own


@dataclass
class ProjectAnalysis:
    """What analysing a project's media gives: kept while only user edits change."""

    rig: Any           # core.face.rig.FaceRig
    audio: Any         # core.io.audio.Audio
    feats: Any         # core.speech.features.AudioFeatures
    tracks: Any        # core.tracks.Tracks as analysed (no user edits)


def analyse_project(project: Project, *, cache_root: Path | None = None, use_cache: bool = True,
                    progress=None, cancel=None) -> ProjectAnalysis:
    """Analyse the project's media exactly as the studio does (cached by content hash)."""
    from core.pipeline import RenderRequest, analyse
    from core.progress import CancelToken, no_progress
    from core.speech.features import analyse_audio

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    if not (project.portrait and project.narration):
        raise UserInputError("the project needs both a portrait and a narration.", project.path or None,
                             "Add them in SynchroRaMa Studio's Media panel.")
    req = RenderRequest(image=Path(project.portrait), audio=Path(project.narration),
                        script=project.script.strip() or None, fps=ANALYSIS_FPS, seed=project.seed,
                        face=project.face, use_cache=use_cache, cache_root=cache_root)
    try:
        rig, audio, tracks = analyse(req, progress=progress, cancel=cancel)
    except UserInputError as exc:
        if exc.fix and exc.fix.startswith("Use --face "):  # --project refuses --face: say where it is set
            raise UserInputError(f"the project's face: {exc.detail}", project.path or exc.path,
                                 exc.fix.replace("Use --face ", 'Set "face" in the project to ', 1)
                                 + " Or pick the face in SynchroRaMa Studio.") from None
        raise
    cancel.check()
    feats = analyse_audio(audio.samples, audio.sample_rate, cancel=cancel)
    return ProjectAnalysis(rig, audio, feats, tracks)


def renderer_options(opts: ExportOptions, device: str = "auto") -> dict:
    """Options for core.render.base.make_renderer from the export settings.

    The studio's device setting goes to a renderer that runs on more than
    the CPU (the renderer table says which); the avatar to the renderer
    that has one. Nothing heavy is imported here.
    """
    from core.render.base import renderer_spec

    spec = renderer_spec(opts.renderer)
    out: dict = {}
    if "device" in spec.takes:
        out["device"] = device
    if "avatar" in spec.options:
        out["avatar"] = opts.avatar
    return out


def render_project(project: Project, analysis: ProjectAnalysis, output: str | Path | None = None, *,
                   opts: ExportOptions | None = None, device: str = "auto", progress=None, cancel=None):
    """The project's user edits on top of its analysis, rendered with its export settings.

    The emotion is resampled to the export frame rate and the motion rebuilt
    there (apply_project), so what is exported is what the studio previews.
    """
    from core.pipeline import render_tracks
    from core.progress import CancelToken, no_progress

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    opts = opts or project.export
    if opts is project.export:
        out = check_project_export(project, output, "the output" if output else None)
    else:
        from dataclasses import replace

        out = check_project_export(replace(project, export=opts), output, "the output" if output else None)
    progress("prepare", 0, 1)
    warnings: list[str] = []
    tracks = apply_project(project, analysis.tracks, analysis.feats, fps=opts.fps, warnings=warnings)
    out.parent.mkdir(parents=True, exist_ok=True)
    return render_tracks(analysis.rig, tracks, project.narration, out, renderer=opts.renderer,
                         size=opts.size, max_output=opts.max_output, crf=opts.crf,
                         renderer_options=renderer_options(opts, device), progress=progress, cancel=cancel)
