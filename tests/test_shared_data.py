"""tests/conftest.py's ``shared()``: a test that needs ../shared/data skips without it, but in CI
(``CI=true``) with the folder present a missing file fails instead of skipping (issue 17)."""

from __future__ import annotations

import pytest

from tests.conftest import shared


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A stand-in for ../shared/data holding one file; shared() reads its module's SHARED_DATA."""
    root = tmp_path / "data"
    (root / "speech").mkdir(parents=True)
    (root / "speech" / "a.wav").write_bytes(b"RIFF")
    monkeypatch.setitem(shared.__globals__, "SHARED_DATA", root)
    return root


@pytest.mark.parametrize("ci", [None, "true"])
def test_a_present_file_is_returned(data_root, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert shared("speech", "a.wav") == data_root / "speech" / "a.wav"


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_a_missing_file_skips_outside_ci(data_root, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="development data not found"):
        shared("speech", "missing.wav")


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_in_ci_with_the_data_present_a_missing_file_fails(data_root, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="must not skip") as err:
        shared("speech", "missing.wav")
    assert "missing.wav" in str(err.value)


def test_in_ci_without_the_data_folder_the_test_skips(tmp_path, monkeypatch):
    monkeypatch.setitem(shared.__globals__, "SHARED_DATA", tmp_path / "absent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception, match="development data not found"):
        shared("speech", "a.wav")
