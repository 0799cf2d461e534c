from __future__ import annotations

import json

import pytest

from core.errors import UserInputError
from core.models import (
    bundled_models, delete_model, find_model, import_model, list_models, read_manifest, verified_file,
    verify, write_manifest,
)
from core.paths import models_dir


def _model(folder, name="alice"):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"layers": 2}))
    (folder / "unet.safetensors").write_bytes(b"\x00" * 128)
    return write_manifest(folder, name, "diffusion-avatar", licence="user's own footage")


def test_manifest_import_list_verify_delete(tmp_path, monkeypatch):
    # a store of its own: session fixtures (the diffusion tests) install models in the shared one
    monkeypatch.setenv("SYNCHRORAMA_HOME", str(tmp_path / "home"))
    info = _model(tmp_path / "src")
    assert info.status == "ok" and info.size == 128 + len(json.dumps({"layers": 2}))
    installed = import_model(tmp_path / "src")
    assert installed.status == "ok"
    assert installed.path.startswith(str(models_dir()))
    assert [m.name for m in list_models()] == ["alice"]
    assert find_model("alice").kind == "diffusion-avatar"
    # tampering is detected
    (models_dir() / "alice" / "unet.safetensors").write_bytes(b"\x01" * 128)
    assert verify(read_manifest(models_dir() / "alice")).status == "modified"
    with pytest.raises(UserInputError, match="already installed"):
        import_model(tmp_path / "src")
    delete_model("alice")
    assert list_models() == []
    with pytest.raises(UserInputError, match="no model named"):
        find_model("alice")


def test_pickles_are_refused(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"not allowed")
    with pytest.raises(UserInputError, match="safe data format"):
        write_manifest(folder, "bad", "diffusion-avatar")


def test_damaged_import_leaves_nothing(tmp_path):
    _model(tmp_path / "src", "bob")
    (tmp_path / "src" / "unet.safetensors").write_bytes(b"corrupt")
    with pytest.raises(UserInputError, match="do not match"):
        import_model(tmp_path / "src")
    assert not any(models_dir().glob("*bob*")) if models_dir().exists() else True


def test_verified_file(tmp_path):
    p = tmp_path / "w.safetensors"
    p.write_bytes(b"abc")
    good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert verified_file(p, good) == p
    with pytest.raises(UserInputError, match="damaged"):
        verified_file(p, "0" * 64)


def test_bundled_models_are_found():
    found = {b.name: b for b in bundled_models()}
    mesh = found["face mesh 478 pts + face detector"]
    assert mesh.path and mesh.size > 1_000_000
    assert found["en-us acoustic model + dictionary"].path
