"""Every renderer in the table keeps the Renderer contract (issue 17).

One check (``check_contract``) runs each registered renderer that can run
on this machine through prepare / frames / cancel on the same tracks: the
frame size it announces (capped by max_output), RGB uint8 frames of that
size, one frame per motion frame, a [start, stop) range, progress after
every frame, cancel between frames, and pictures that follow the motion.
A renderer that cannot run here must say so in words (a missing optional
package, no CUDA), never fall back to something else. The check itself is
tested on a small renderer with one fault at a time, so it can fail.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from core.errors import Cancelled, UserInputError
from core.progress import CancelToken
from core.render.base import RENDERERS, RenderConditioning, Renderer, RendererSpec, make_renderer
from tests.conftest import SAMPLE

SIZE, MAX_OUTPUT, N = 128, 200, 6


def _motion(n: int = N):
    from core.tracks import MotionTrack
    from core.units import UNIT_NAMES

    m = MotionTrack.rest(n, 25.0)
    m.weights[:, UNIT_NAMES.index("jaw_open")] = np.linspace(0, 1.0, n)
    m.head[:, 0] = np.linspace(-8, 8, n)
    return m


def _cond(n: int, audio=None) -> RenderConditioning:
    from core.tracks import EmotionTrack, SceneSegment, SceneTrack

    return RenderConditioning(emotion=EmotionTrack.neutral(n, 25.0), audio_path=str(audio) if audio else None,
                              scenes=SceneTrack([SceneSegment(0, 0.1, "smiles")]))


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _installed(spec: RendererSpec) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in spec.needs)


# How each registered renderer is built on this machine (its own settings).
# A renderer added to the table without a row here fails test_every_renderer_has_a_setup.
def _mesh(request) -> dict:
    return {}


def _diffusion(request) -> dict:
    request.getfixturevalue("trained")   # a tiny avatar trained once per session on the CPU
    return {"avatar": "tiny-test", "device": "cpu", "steps": 2, "batch": 2}


SETUP = {"mesh": _mesh, "diffusion": _diffusion}


@pytest.fixture(scope="module")
def rig():
    from core.face.rig import load_rig

    return load_rig(SAMPLE / "portrait.png")


def check_contract(r, name: str, rig, deterministic: bool, audio=None) -> list[np.ndarray]:
    """Assert the Renderer protocol on ``r`` (not yet prepared); returns the frames of the motion."""
    motion, cond = _motion(), _cond(N, audio)
    assert isinstance(r, Renderer), f"{name}: not a Renderer"
    assert r.name == name, f"{name}: calls itself {r.name!r}"
    assert tuple(r.frame_size) == (0, 0), f"{name}: frame size {r.frame_size} before prepare"
    with pytest.raises(RuntimeError):
        next(iter(r.frames(motion, cond)))           # frames before prepare is a programming error
    r.prepare(rig, SIZE)
    w, h = r.frame_size
    assert w > 0 and h > 0 and max(w, h) <= MAX_OUTPUT, f"{name}: frame size {w}x{h}"
    seen: list[tuple[str, float, float]] = []
    frames = list(r.frames(motion, cond, progress=lambda stage, done, total: seen.append((stage, done, total))))
    assert len(frames) == N, f"{name}: {len(frames)} frames for {N} motion frames"
    for f in frames:
        assert isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.shape == (h, w, 3), \
            f"{name}: frame {getattr(f, 'dtype', type(f))} {getattr(f, 'shape', '')}, announced {w}x{h}"
    assert [d for _, d, _ in seen] == list(range(1, N + 1)) and {t for _, _, t in seen} == {N}, \
        f"{name}: progress {seen}"
    # the motion drives the picture: jaw shut and head left, then jaw open and head right
    assert np.abs(frames[-1].astype(np.int16) - frames[0]).mean() > 0.5, f"{name}: the frames ignore the motion"
    # a range of frames, with its own progress
    seen.clear()
    part = list(r.frames(motion, cond, start=2, stop=5, progress=lambda s, d, t: seen.append((s, d, t))))
    assert len(part) == 3 and [(d, t) for _, d, t in seen] == [(1, 3), (2, 3), (3, 3)], f"{name}: range"
    if deterministic:   # no random numbers: the same motion frame is the same picture wherever a range starts
        assert all(np.array_equal(a, b) for a, b in zip(part, frames[2:5])), f"{name}: range draws other frames"
    # cancel between frames: no frame after the token is set, and Cancelled is raised
    token, got = CancelToken(), []
    with pytest.raises(Cancelled):
        for f in r.frames(motion, cond, cancel=token):
            got.append(f)
            if len(got) == 2:
                token.cancel()
    assert len(got) == 2, f"{name}: {len(got)} frames after cancel at 2"
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        next(iter(r.frames(motion, cond, cancel=token)))
    return frames


def test_every_renderer_has_a_setup():
    assert set(SETUP) == set(RENDERERS)


@pytest.mark.parametrize("name", list(RENDERERS))
def test_registered_renderer_keeps_the_contract(name, rig, request, short_audio):
    spec = RENDERERS[name]
    if not _installed(spec):
        # cannot run here: it must say which extra is missing, not fall back to another renderer
        with pytest.raises(UserInputError, match=rf"\[{spec.extra}\]"):
            make_renderer(name, size=SIZE, max_output=MAX_OUTPUT, **SETUP[name](request))
        return
    r = make_renderer(name, size=SIZE, max_output=MAX_OUTPUT, **SETUP[name](request))
    check_contract(r, name, rig, deterministic="seed" not in spec.takes, audio=short_audio)


@pytest.mark.parametrize("name", list(RENDERERS))
def test_a_device_the_renderer_cannot_use_is_refused_in_words(name, request):
    """No CUDA here: asking for it, or for "auto" on a renderer that needs it, is a user error naming CUDA."""
    spec = RENDERERS[name]
    if _cuda():
        pytest.skip("this machine has a CUDA GPU")
    if not _installed(spec):
        pytest.skip(f"the {spec.extra} extra is not installed (the contract test checks its message)")
    options = {k: v for k, v in SETUP[name](request).items() if k != "device"}
    with pytest.raises(UserInputError, match="(?i)cuda"):
        make_renderer(name, size=SIZE, device="cuda", **options)
    if spec.devices[0] == "cuda":       # its "auto" means a CUDA GPU: never a quiet CPU run
        with pytest.raises(UserInputError, match="CUDA"):
            make_renderer(name, size=SIZE, device="auto", **options)
    else:
        assert make_renderer(name, size=SIZE, device="auto", **options).name == name


def test_unknown_renderer_and_foreign_settings_are_user_errors():
    with pytest.raises(UserInputError, match="unknown renderer 'wax'") as e:
        make_renderer("wax")
    assert all(n in e.value.fix for n in RENDERERS)
    with pytest.raises(UserInputError, match="belongs to the diffusion renderer"):
        make_renderer("mesh", avatar="anna")
    # settings left unset (None) are not settings
    assert make_renderer("mesh", size=SIZE, avatar=None).name == "mesh"


def test_a_missing_optional_package_is_named_and_our_own_broken_module_is_not_hidden(monkeypatch):
    monkeypatch.setitem(RENDERERS, "x", RendererSpec("x", "x", "no_such_pkg_17.renderer", "R", takes=(),
                                                     devices=("cpu",), needs=("no_such_pkg_17",), extra="xx"))
    with pytest.raises(UserInputError, match=r"no_such_pkg_17 is not installed.*") as e:
        make_renderer("x")
    assert "synchrorama-studio[xx]" in e.value.fix
    monkeypatch.setitem(RENDERERS, "y", RendererSpec("y", "y", "core.render.no_such_module_17", "R", takes=(),
                                                     devices=("cpu",), needs=("torch",), extra="diffusion"))
    with pytest.raises(ModuleNotFoundError):
        make_renderer("y")


def test_the_cli_and_the_project_read_the_table(tmp_path):
    from core.cli import build_parser
    from core.project import ExportOptions, Project, check_project_export, renderer_options

    parser = build_parser(only="render")
    sub = next(a for a in parser._actions if a.choices and "render" in a.choices).choices["render"]
    choices = next(a.choices for a in sub._actions if "--renderer" in a.option_strings)
    assert list(choices) == list(RENDERERS)
    p = Project(name="p", portrait="a.png", narration="a.wav", export=ExportOptions(renderer="wax"))
    with pytest.raises(UserInputError, match="export.renderer"):
        check_project_export(p, tmp_path / "o.mp4")
    # the studio's device setting reaches only a renderer that runs on more than the CPU
    assert renderer_options(ExportOptions(renderer="mesh"), device="cuda") == {}
    assert renderer_options(ExportOptions(renderer="diffusion", avatar="anna"), device="cuda") == \
        {"device": "cuda", "avatar": "anna"}


# -- the check itself can fail ----------------------------------------------------------

class _Toy:
    """A small correct renderer: a grey frame whose brightness follows jaw_open. Faults switch parts off."""

    name = "toy"

    def __init__(self, fault: str = ""):
        self.fault, self._prepared = fault, False

    def prepare(self, rig, size):
        h, w = rig.image.shape[:2]
        k = min(1.0, MAX_OUTPUT / max(h, w))
        self.wh = (max(1, int(w * k)), max(1, int(h * k)))
        self._prepared = True

    @property
    def frame_size(self):
        if not self._prepared:
            return (0, 0)
        return (self.wh[0] + 1, self.wh[1]) if self.fault == "size" else self.wh

    def frames(self, motion, cond=None, *, start=0, stop=None, progress=None, cancel=None):
        from core.units import UNIT_NAMES

        if not self._prepared and self.fault != "unprepared":
            raise RuntimeError("prepare() first")
        stop = motion.n_frames if stop is None else min(stop, motion.n_frames)
        if self.fault == "range":
            start, stop = 0, motion.n_frames
        w, h = getattr(self, "wh", (8, 8))
        for i in range(start, stop):
            if cancel is not None and self.fault != "cancel":
                cancel.check()
            v = 60 + 150 * float(motion.weights[i, UNIT_NAMES.index("jaw_open")])
            if self.fault == "still":
                v = 60
            f = np.full((h, w, 3), v, np.float32 if self.fault == "dtype" else np.uint8)
            yield f[..., :1] if self.fault == "gray" else f
            if progress is not None and self.fault != "progress":
                progress("render", i + 1 - start, stop - start)


def test_the_toy_renderer_passes(rig):
    check_contract(_Toy(), "toy", rig, deterministic=True)


@pytest.mark.parametrize("fault", ["size", "unprepared", "range", "cancel", "still", "dtype", "gray", "progress"])
def test_the_check_catches_a_broken_renderer(rig, fault):
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        check_contract(_Toy(fault), "toy", rig, deterministic=True)
