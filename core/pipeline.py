"""Orchestration: portrait + narration (+ script, emotion, scenes) -> MP4.

Two halves the app and CLI call separately:
- ``analyse``: face rig, audio features, alignment, emotion, scenes and
  motion -> ``Tracks`` (cached by content hash; nothing here renders);
- ``render_tracks``: rig + tracks -> frames streamed to the exporter.
Both report progress per stage and stop at the next frame or chunk when the
cancel token is set. Optional stages (alignment, emotion, scene cues) are
looked up lazily so the CPU path starts fast and a missing feature says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.cache import AnalysisCache, cache_key
from core.errors import UserInputError
from core.face.rig import FaceRig, load_rig
from core.io.audio import Audio, load_audio
from core.io.checks import check_output
from core.io.files import sha256_file
from core.io.video import ExportSettings, Mp4Writer
from core.model_cache import ANALYSIS_HOLDERS, release_models
from core.progress import CancelToken, Progress, no_progress
from core.render.base import RenderConditioning, make_renderer
from core.scene.track import validate_segments
from core.speech.features import AudioFeatures, analyse_audio
from core.tracks import (
    Alignment, EmotionTrack, MediaRef, MotionTrack, SceneSegment, SceneTrack, Tracks,
)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLE_DIR = RESOURCES / "sample"


def sample_paths() -> tuple[Path, Path, Path]:
    """The embedded sample: portrait, narration, script."""
    return SAMPLE_DIR / "portrait.png", SAMPLE_DIR / "narration.wav", SAMPLE_DIR / "script.txt"


@dataclass
class RenderRequest:
    """Everything a render needs; the CLI and the app fill it the same way."""

    image: Path | None = None
    audio: Path | None = None
    script: str | None = None
    output: Path = Path("out/sample.mp4")
    emotion: str = "auto"
    emotion_strength: float = 1.0
    emotion_curve: str | None = None
    scenes: list[SceneSegment] = field(default_factory=list)
    renderer: str = "mesh"
    renderer_options: dict = field(default_factory=dict)
    size: int = 512
    fps: float = 25.0
    seed: int = 0
    head_motion: float = 1.0            # 0 still, 1 natural, 2 lively (core.motion.a2m)
    blink_rate: float = 17.0            # blinks per minute at neutral arousal
    face: int | None = None
    max_output: int = 0
    crf: int = 18
    save_tracks: Path | None = None
    load_tracks: Path | None = None
    use_cache: bool = True
    allow_other_audio: bool = False     # --load-tracks over a narration they were not analysed from
    cache_root: Path | None = None      # analysis cache folder (None = the user cache dir)

    def resolve_sample(self) -> None:
        """No portrait and no narration given: use the embedded sample."""
        if self.image is None and self.audio is None and self.load_tracks is None:
            img, wav, txt = sample_paths()
            self.image, self.audio = img, wav
            if self.script is None and txt.exists():
                self.script = txt.read_text(encoding="utf-8").strip()


@dataclass
class RenderResult:
    output: str
    frames: int
    duration: float
    width: int
    height: int
    stages: dict[str, float]
    warnings: list[str]


class StageClock:
    """Seconds spent per stage, for --json and the benchmarks."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    def run(self, name: str, fn: Callable, *args, **kw):
        t = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t, 3)


def n_frames_for(duration: float, fps: float) -> int:
    return max(1, int(math.floor(duration * fps + 0.5)))


def analyse(req: RenderRequest, *, progress: Progress = no_progress,
            cancel: CancelToken | None = None, clock: StageClock | None = None,
            rig: FaceRig | None = None,
            on_rig: Callable[[FaceRig], None] | None = None) -> tuple[FaceRig, Audio, Tracks]:
    """Run every analysis stage and return the rig, audio and tracks.

    ``on_rig`` is called with the rig as soon as it exists (``render`` starts
    preparing the renderer then, beside the other stages).
    """
    clock = clock or StageClock()
    cancel = cancel or CancelToken()
    req.resolve_sample()
    from core.motion.a2m import check_motion_settings

    check_motion_settings(req.head_motion, req.blink_rate)  # before any slow stage
    if req.image is None or req.audio is None:
        raise UserInputError("give both --image and --audio (or neither, for the sample).")
    if rig is None:
        progress("face", 0, 1)
        rig = clock.run("face", load_rig, req.image, req.face)
        progress("face", 1, 1)
    cancel.check()
    audio = clock.run("audio", load_audio, req.audio)
    if on_rig is not None:   # once both inputs have been read: most bad inputs are found by now
        on_rig(rig)
    cache = AnalysisCache(root=req.cache_root, enabled=req.use_cache)
    audio_sha = sha256_file(req.audio)
    portrait_sha = sha256_file(req.image)
    feats = clock.run("audio", analyse_audio, audio.samples, audio.sample_rate,
                      progress=progress, cancel=cancel)
    n = n_frames_for(audio.duration, req.fps)
    warnings: list[str] = list(getattr(rig, "notes", []))   # e.g. the portrait was scaled down

    # alignment (cached: forced alignment / ASR are the slow part)
    key = cache_key("alignment", audio_sha, req.script or "")
    cached = cache.get(key)
    ser: BackgroundSER | None = None
    try:
        if cached is not None:
            alignment = Alignment.from_dict(cached)
        else:
            from core.speech.timing import speech_timing

            # the speech-emotion pass needs the audio only: it runs beside the alignment
            ser = BackgroundSER(audio, feats, cancel)
            alignment = clock.run("alignment", speech_timing, audio, req.script,
                                  progress=progress, cancel=cancel)
            cache.put(key, alignment.to_dict())
        warnings += alignment.warnings
        cancel.check()

        emotion = clock.run("emotion", _emotion_stage, req, audio, feats, alignment, n, rig,
                            cache, (audio_sha, portrait_sha, req.face), warnings, progress, cancel, ser)
    finally:
        if ser is not None:
            ser.stop()   # used, or not needed (a cached emotion track, an error): no thread outlives the job
    scenes = SceneTrack(validate_segments(req.scenes, audio.duration))
    motion = clock.run("motion", build_motion, feats, alignment, emotion, scenes, req.fps, n,
                       req.seed, warnings, head_motion=req.head_motion, blink_rate=req.blink_rate)
    tracks = Tracks(
        fps=req.fps, duration=audio.duration,
        audio=MediaRef(str(req.audio), audio_sha),
        portrait=MediaRef(str(req.image), portrait_sha),
        alignment=alignment, emotion=emotion, scenes=scenes, motion=motion,
        settings={"seed": req.seed, "emotion": req.emotion, "head_motion": req.head_motion,
                  "blink_rate": req.blink_rate,
                  "emotion_strength": req.emotion_strength, "face": req.face,
                  "warnings": warnings},
    )
    return rig, audio, tracks


def _emotion_stage(req: RenderRequest, audio: Audio, feats: AudioFeatures, alignment: Alignment,
                   n: int, rig: FaceRig, cache: AnalysisCache, inputs_key: tuple,
                   warnings: list[str], progress: Progress, cancel: CancelToken,
                   ser: "BackgroundSER | None" = None) -> EmotionTrack:
    from core.emotion.control import apply_user_control as control
    from core.emotion.fusion import analyse_emotion, emotion_warnings

    from core.emotion.control import check_emotion_name

    check_emotion_name(req.emotion)
    # the portrait's own expression feeds the fusion, so it is part of the key; so does
    # whether the script could be scored with the NRC lexicon
    from core.emotion.text import nrc_installed

    key = cache_key("emotion", *inputs_key, alignment.script, req.fps, n, nrc_installed())
    cached = cache.get(key)
    if cached is not None:
        track = EmotionTrack.from_dict(cached)
    else:
        pts = rig.landmarks[:, :2]
        box = (*pts.min(0).tolist(), *pts.max(0).tolist())  # the chosen face, for its own expression
        track = analyse_emotion(audio, feats, alignment, req.fps, n, portrait_rgb=rig.image,
                                portrait_box=box, progress=progress, cancel=cancel,
                                ser=ser.result if ser is not None else None)
        cache.put(key, track.to_dict())
    warnings += emotion_warnings(track)   # an optional source that was missing, in words
    return control(track, req.emotion, req.emotion_strength, req.emotion_curve)


def build_motion(feats: AudioFeatures, alignment: Alignment, emotion: EmotionTrack,
                 scenes: SceneTrack, fps: float, n: int, seed: int,
                 warnings: list[str] | None = None, *, head_motion: float = 1.0,
                 blink_rate: float = 17.0) -> MotionTrack:
    """A2M, then emotion on the face, then scene cues: the motion to render."""
    from core.motion.a2m import A2MSettings, audio_to_motion, check_motion_settings

    check_motion_settings(head_motion, blink_rate)
    warnings = warnings if warnings is not None else []
    settings = A2MSettings(seed=seed, head_motion=head_motion, blink_rate=blink_rate)
    motion = audio_to_motion(feats, fps, n, emotion=emotion, settings=settings, alignment=alignment)
    from core.emotion.face import emotion_to_motion

    emotion_to_motion(motion, emotion)
    if scenes.segments:
        from core.scene.cues import apply_scene_cues

        warnings += apply_scene_cues(motion, scenes, fps) or []
    from core.motion.a2m import has_phones
    from core.motion.visemes import enforce_bilabials

    if has_phones(alignment):  # the phone path was used (A2MSettings.use_phones defaults on)
        # speech wins at p/b/m: expression and cues must not hold the lips apart there
        enforce_bilabials(motion, alignment.phones)
    if head_motion == 0:
        # "still" means still: the head stays as in the photo, without the emotion's
        # posture or a scene cue's gesture either (the eyes, lids and mouth still move)
        motion.head[:] = 0.0
    return motion


def render_tracks(rig: FaceRig, tracks: Tracks, audio_path: str | Path, output: Path, *,
                  renderer: str = "mesh", size: int = 512, max_output: int = 0, crf: int = 18,
                  renderer_options: dict | None = None, progress: Progress = no_progress,
                  cancel: CancelToken | None = None, clock: StageClock | None = None,
                  prepared: "EarlyPrepare | None" = None) -> RenderResult:
    """Stream the rendered frames into an MP4 with the narration muxed in.

    ``prepared``: the renderer already being prepared for this rig (``render``
    starts it while the analysis runs); otherwise it is made and prepared here.
    """
    clock = clock or StageClock()
    cancel = cancel or CancelToken()
    if prepared is not None:
        r = prepared.result(clock)
    else:
        r = make_renderer(renderer, size=size, max_output=max_output, **(renderer_options or {}))
        clock.run("prepare", r.prepare, rig, size)
    w, h = r.frame_size
    cond = RenderConditioning(emotion=tracks.emotion, scenes=tracks.scenes, audio_path=str(audio_path))
    n = tracks.motion.n_frames
    t0 = time.perf_counter()
    with Mp4Writer(output, w, h, audio_path, ExportSettings(fps=tracks.fps, crf=crf)) as writer:
        for frame in r.frames(tracks.motion, cond, progress=progress, cancel=cancel):
            writer.write(frame)
        progress("encode", 1, 1)
    clock.stages["render+encode"] = round(time.perf_counter() - t0, 3)
    return RenderResult(output=str(output), frames=n, duration=round(n / tracks.fps, 3),
                        width=w, height=h, stages=clock.stages,
                        warnings=list(tracks.settings.get("warnings", [])))


def render(req: RenderRequest, *, progress: Progress = no_progress,
           cancel: CancelToken | None = None) -> RenderResult:
    """The whole job: analyse (or load tracks), render, export."""
    clock = StageClock()
    cancel = cancel or CancelToken()
    req.resolve_sample()
    # an output that cannot be written, or that is one of the inputs, fails before minutes of work
    inputs = {"--image": req.image, "--audio": req.audio, "--load-tracks": req.load_tracks}
    check_output(req.output, {**inputs, "--save-tracks": req.save_tracks})
    if req.save_tracks is not None:
        check_output(req.save_tracks, inputs, "--save-tracks", "tracks file", "tracks.json")
    if req.load_tracks is not None:
        tracks = Tracks.load(req.load_tracks)
        image = req.image or Path(tracks.portrait.path)
        audio = req.audio or Path(tracks.audio.path)
        for p, what in ((image, "portrait"), (audio, "narration")):
            if not Path(p).exists():
                raise UserInputError(f"the {what} these tracks were made from is missing.", p,
                                     f"Pass --{'image' if what == 'portrait' else 'audio'} PATH.")
        if not req.allow_other_audio:
            tracks.check_audio(audio, req.load_tracks, "--audio" if req.audio else "the narration")
        rig = clock.run("face", load_rig, image, tracks.settings.get("face"))
        if req.scenes:
            tracks.scenes = SceneTrack(validate_segments(req.scenes, tracks.duration))
    early: list[EarlyPrepare] = []
    if req.load_tracks is None:
        def start_prepare(rig: FaceRig) -> None:
            # the mesh renderer's preparation (person mask, identity guard: seconds on a
            # new portrait) needs only the rig: it runs beside alignment and emotion
            if req.renderer == "mesh":
                early.append(EarlyPrepare(rig, req.renderer, req.size, req.max_output,
                                          req.renderer_options))

        try:
            rig, audio_obj, tracks = analyse(req, progress=progress, cancel=cancel, clock=clock,
                                             on_rig=start_prepare)
        except BaseException:
            for e in early:   # no preparing thread may outlive a failed or cancelled job
                e.stop()
            raise
        audio = req.audio
        # the analysis's models are not needed for the frames: held through a long
        # render they were most of the memory it gained in the alignment stage
        # (docs/benchmarks.md, section 2)
        release_models(ANALYSIS_HOLDERS)
    if req.save_tracks is not None:
        tracks.save(req.save_tracks)
    return render_tracks(rig, tracks, audio, req.output, renderer=req.renderer, size=req.size,
                         max_output=req.max_output, crf=req.crf,
                         renderer_options=req.renderer_options, progress=progress,
                         cancel=cancel, clock=clock, prepared=early[0] if early else None)


class EarlyPrepare:
    """A renderer prepared on a background thread while the analysis stages run (issue 19).

    Its error, if any, is raised where the renderer is asked for, which is
    where a preparation error surfaced before. ``stop`` (a failed or
    cancelled analysis) asks the renderer to give up at its next step and
    waits for the thread, so none outlives the job: one still inside a
    native library at interpreter exit could crash it.
    """

    def __init__(self, rig: FaceRig, renderer: str, size: int, max_output: int,
                 options: dict | None) -> None:
        import threading

        self.renderer = make_renderer(renderer, size=size, max_output=max_output, **(options or {}))
        self._rig, self._size = rig, size
        self._error: BaseException | None = None
        self.seconds = 0.0
        self._done = threading.Event()
        threading.Thread(target=self._run, name="renderer-prepare", daemon=True).start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the renderer to abandon its preparation and wait (up to ``timeout`` s) for the thread."""
        abandon = getattr(self.renderer, "abandon_prepare", None)
        if abandon is not None:
            abandon()
        self._done.wait(timeout)

    def _run(self) -> None:
        t = time.perf_counter()
        try:
            self.renderer.prepare(self._rig, self._size)
        except BaseException as exc:   # handed to the caller in result()
            self._error = exc
        finally:
            self.seconds = time.perf_counter() - t
            self._done.set()

    def result(self, clock: StageClock | None = None):
        """The prepared renderer (waits for it); ``clock`` gets ``prepare`` (the time it
        took on its thread) and ``prepare_wait`` (how long the render then waited)."""
        t = time.perf_counter()
        self._done.wait()
        if clock is not None:
            clock.stages["prepare"] = round(self.seconds, 3)
            clock.stages["prepare_wait"] = round(time.perf_counter() - t, 3)
        if self._error is not None:
            raise self._error
        return self.renderer


class BackgroundSER:
    """The speech-emotion windows (``fusion.ser_windows``) computed on a thread (issue 19).

    They need the audio and its voiced mask, not the alignment, so the
    pipeline starts them when the alignment starts; the emotion stage then
    takes them with ``result`` (the same windows it would compute itself).
    ``stop`` asks the thread to give up at its next window and waits for it.
    """

    def __init__(self, audio: Audio, feats: AudioFeatures, cancel: CancelToken) -> None:
        import threading

        self._cancel, self._stop = cancel, CancelToken()
        self._value = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(audio, feats), name="speech-emotion",
                                        daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raise Cancelled once the job or ``stop`` cancelled (predict_windows calls it per window)."""
        self._cancel.check()
        self._stop.check()

    def _run(self, audio: Audio, feats: AudioFeatures) -> None:
        try:
            from core.emotion.fusion import ser_windows

            self._value = ser_windows(audio, feats, cancel=self)
        except BaseException as exc:   # handed to the caller in result()
            self._error = exc
        finally:
            self._done.set()

    def result(self):
        """(model, windows), waiting for them; the thread's error, if any, is raised here."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def stop(self, timeout: float = 30.0) -> None:
        """Give up at the next window (a no-op once finished) and wait for the thread."""
        self._stop.cancel()
        self._thread.join(timeout)
