"""Acoustic mouth model: shipped weights, refusal of damaged ones, use in A2M, held-out quality.

The held-out bars are what the shipped model measured (docs/a2m.md, the
manifest's "heldout" block) less a margin. The RAVDESS test needs
../shared/data (actors 19-20, never trained on) and skips saying why
without; the espeak-ng tests always run: the library and its data come with
the ``espeakng-loader`` dependency, so a missing one is a failure naming the
fix, not a skip.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.motion import acoustic_mouth as am
from core.speech.features import analyse_audio
from tests.conftest import shared


def _tone_speech(seconds: float = 3.0, sr: int = 16000) -> np.ndarray:
    """Syllable-like bursts of a harmonic tone with pauses (deterministic)."""
    t = np.arange(int(seconds * sr)) / sr
    env = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) * (t % 1.0 < 0.7)
    x = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 12))
    rng = np.random.default_rng(0)
    return (0.3 * env * x / 3 + 0.001 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture()
def fresh_cache():
    am._cache.clear()
    yield
    am._cache.clear()


def _copy_weights(tmp_path: Path) -> Path:
    d = tmp_path / "w"
    shutil.copytree(am.WEIGHTS_DIR, d)
    return d


def test_shipped_weights_load_with_manifest_and_licence(fresh_cache):
    m = am.load_model()
    man = json.loads((am.WEIGHTS_DIR / am.MANIFEST_NAME).read_text())
    assert man["sha256"] == am.sha256_bytes(am.WEIGHTS_DIR / am.WEIGHTS_NAME)
    assert m.units == am.UNITS
    assert "non-commercial" in (am.WEIGHTS_DIR / "LICENCE.txt").read_text()
    assert "licence" in man and "command" in man
    with np.load(am.WEIGHTS_DIR / am.WEIGHTS_NAME, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype.kind in "fi" for k in z.files)


def test_damaged_weights_are_refused_naming_the_file(tmp_path, fresh_cache):
    d = _copy_weights(tmp_path)
    w = d / am.WEIGHTS_NAME
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(am.AcousticWeightsError, match="sha256") as e:
        am.load_model(d)
    assert str(w) in str(e.value)


def test_missing_weights_or_manifest_are_loud_errors(tmp_path, fresh_cache):
    d = _copy_weights(tmp_path)
    (d / am.WEIGHTS_NAME).unlink()
    with pytest.raises(am.AcousticWeightsError, match="missing") as e:
        am.load_model(d)
    assert str(d / am.WEIGHTS_NAME) in str(e.value)
    d2 = _copy_weights(tmp_path / "b")
    (d2 / am.MANIFEST_NAME).unlink()
    with pytest.raises(am.AcousticWeightsError, match="manifest missing"):
        am.load_model(d2)


def test_a2m_fallback_uses_the_model(fresh_cache):
    from core.motion.a2m import audio_to_motion
    from core.tracks import Alignment

    feat = analyse_audio(_tone_speech(), 16000)
    n = 75
    track = audio_to_motion(feat, 25.0, n, alignment=Alignment(source="energy"))
    want = am.mouth_curves(feat, 25.0, n)
    for unit in am.UNITS:
        np.testing.assert_allclose(track.unit(unit), np.clip(want[unit], 0, 1), atol=1e-6)
    assert track.unit("jaw_open").max() > 0.2          # the bursts open the mouth
    assert track.unit("jaw_open")[-3:].max() < track.unit("jaw_open").max()


def test_weights_without_spread_are_refused(tmp_path, fresh_cache):
    """v2 weights widen the curves by a trained ``spread``; a file without it is an older format."""
    d = _copy_weights(tmp_path)
    w = d / am.WEIGHTS_NAME
    with np.load(w, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "spread"}
    with open(w, "wb") as f:
        np.savez(f, **arrays)
    man = json.loads((d / am.MANIFEST_NAME).read_text())
    man["sha256"] = am.sha256_bytes(w)
    (d / am.MANIFEST_NAME).write_text(json.dumps(man))
    with pytest.raises(am.AcousticWeightsError, match="spread") as e:
        am.load_model(d)
    assert str(w) in str(e.value)


def test_curves_are_widened_about_the_recordings_median(fresh_cache):
    m = am.load_model()
    assert np.all((m.spread >= 1.0) & (m.spread <= 2.0))
    feat = analyse_audio(_tone_speech(), 16000)
    flat = am.AcousticMouthModel(m.mu, m.sd, m.layers, m.offsets, m.units, m.manifest,
                                 np.ones(len(am.UNITS), np.float32))
    wide, narrow = am.mouth_curves(feat, 100.0, feat.n, m), am.mouth_curves(feat, 100.0, feat.n, flat)
    j = am.UNITS.index("jaw_open")
    assert np.std(wide["jaw_open"]) > np.std(narrow["jaw_open"]) * (1 + (m.spread[j] - 1) * 0.5)


def test_a2m_fallback_fails_loudly_on_damaged_weights(tmp_path, monkeypatch, fresh_cache):
    from core.motion.a2m import audio_to_motion
    from core.tracks import Alignment

    d = _copy_weights(tmp_path)
    (d / am.WEIGHTS_NAME).write_bytes(b"not weights")
    monkeypatch.setattr(am, "WEIGHTS_DIR", d)
    feat = analyse_audio(_tone_speech(1.0), 16000)
    with pytest.raises(am.AcousticWeightsError, match=am.WEIGHTS_NAME):
        audio_to_motion(feat, 25.0, 25, alignment=Alignment(source="energy"))


def test_features_without_mel_bands_are_refused():
    from dataclasses import replace

    feat = analyse_audio(_tone_speech(1.0), 16000)
    assert am.frame_inputs(feat).shape == (feat.n, len(am.INPUTS))
    with pytest.raises(ValueError, match="mel_db"):
        am.frame_inputs(replace(feat, mel_db=None))


def test_espeak_comes_from_the_pip_package():
    """CI has no Debian espeak-ng: the dependency must provide library and voices."""
    from core.motion import espeak_phones

    assert espeak_phones.source().startswith("espeakng-loader"), espeak_phones.source()
    u = espeak_phones.synthesise("Wir fahren heute nach Hamburg.", "de")
    assert len(u.samples) > 16000 and sum(p.label != "SIL" for p in u.phones) > 10
    # stressed vowels keep their quality ("'a:" is AA, not the AH catch-all)
    assert espeak_phones.to_arpabet("'a:") == "AA" and espeak_phones.to_arpabet(",aI") == "AY"
    assert espeak_phones.to_arpabet("3:") == "ER"


def test_long_audio_is_predicted_in_chunks_identically(fresh_cache):
    m = am.load_model()
    x = np.tile(_tone_speech(3.0), 30)  # 90 s > one 60-s chunk
    feat = analyse_audio(x, 16000)
    whole = m.forward(am.with_context(am.frame_inputs(feat), m.offsets))
    np.testing.assert_allclose(m.predict(feat), whole, atol=1e-5)


def _heldout_r(samples: np.ndarray, phones) -> tuple[float, float]:
    """(model r, loudness r) of the jaw against the phone path's jaw on one utterance."""
    from core.motion.acoustic_train import teacher_curves

    Y, feat = teacher_curves(samples, phones)
    P = am.load_model().predict(feat)
    loud = np.clip(feat.rms_db - np.percentile(feat.rms_db, 95) + 40, 0, None)
    return float(np.corrcoef(P[:, 0], Y[:, 0])[0, 1]), float(np.corrcoef(loud, Y[:, 0])[0, 1])


def test_model_follows_the_phone_path_on_held_out_speakers(fresh_cache):
    """RAVDESS actors 19 and 20 were never trained on; their sentences are known."""
    from core.emotion.ser_data import read_clip
    from core.speech.align import align_words

    root = shared("emotion_speech", "ravdess")
    rs, ls = [], []
    for actor in (19, 20):
        for stmt, text in (("01", "kids are talking by the door"), ("02", "dogs are sitting by the door")):
            for emo in ("01", "05"):
                p = root / f"Actor_{actor:02d}" / f"03-01-{emo}-01-{stmt}-01-{actor:02d}.flac"
                if not p.exists():
                    pytest.skip(f"development data not found: {p}")
                x = read_clip(p)
                res = align_words(x, 16000, text.split())
                r, lr = _heldout_r(x, res.phones)
                rs.append(r)
                ls.append(lr)
    # measured on these 8 clips (v2, with log-mel inputs): model 0.84 (0.75-0.89), loudness 0.73;
    # v1 had 0.81 (0.74-0.87) (docs/a2m.md)
    assert np.mean(rs) >= 0.78, rs
    assert min(rs) >= 0.68, rs
    assert np.mean(rs) >= np.mean(ls) + 0.07, (rs, ls)


def test_model_follows_espeak_phones_in_held_out_languages(fresh_cache):
    """German and Spanish sentences that training never saw, phones from the synthesiser."""
    from core.motion import espeak_phones
    from core.motion.acoustic_train import ESPEAK_HELDOUT

    for lang, texts in ESPEAK_HELDOUT.items():
        u = espeak_phones.synthesise(texts[0], lang)
        r, lr = _heldout_r(u.samples, u.phones)
        # measured (v2, espeakng-loader 0.2.4): de 0.50 (loudness 0.03), es 0.40 (loudness 0.18);
        # v1 had 0.38 and 0.33 (docs/a2m.md)
        assert r >= 0.33, (lang, r)
        assert r >= lr + 0.15, (lang, r, lr)


def test_training_command_round_trip_on_espeak_only(tmp_path, monkeypatch, fresh_cache):
    """A tiny espeak-ng-only run: weights + manifest + licence written, loadable, cache reused."""
    from core.motion import acoustic_train as at

    monkeypatch.setattr(at, "ESPEAK_TRAIN", {"en-us": ["Bring me the blue bowl please."],
                                             "de": ["Wir fahren heute nach Hamburg."]})
    monkeypatch.setattr(at, "ESPEAK_HELDOUT", {"es": ["Mañana vamos a la playa."]})
    monkeypatch.setattr(at, "ESPEAK_READINGS", 2)
    out, cache = tmp_path / "w", tmp_path / "cache"
    res = at.train(None, out, cache=cache, epochs=1, n_aug=1, progress=lambda *a: None)
    m = am.load_model(out)
    assert m.manifest["sha256"] == am.sha256_bytes(out / am.WEIGHTS_NAME)
    assert "espeak" in (out / "LICENCE.txt").read_text()
    assert any(k.startswith("espeak") for k in res["heldout"])
    feat = analyse_audio(_tone_speech(1.0), 16000)
    assert m.predict(feat).shape == (feat.n, len(am.UNITS))
    msgs: list[str] = []
    at.train(None, tmp_path / "w2", cache=cache, epochs=1, n_aug=1, progress=msgs.append)
    assert any("reusing" in s for s in msgs)


def test_range_gain_widens_a_hedged_recording_up_to_speech_only():
    rng = np.random.default_rng(1)
    narrow = 0.4 + 0.15 * rng.standard_normal(2000)          # 5-95 % range ~0.49
    assert am.range_gain(narrow) == pytest.approx(am.SPEECH_JAW_RANGE / np.ptp(np.percentile(narrow, [5, 95])),
                                                  rel=1e-6)
    assert am.range_gain(0.4 + 0.02 * rng.standard_normal(2000)) == am.MAX_RANGE_GAIN   # capped
    assert am.range_gain(0.4 + 0.3 * rng.standard_normal(2000)) == 1.0                   # never narrowed


def test_a_voice_over_music_moves_the_mouth_like_speech(tmp_path, fresh_cache):
    """lp_d10 (singing over music) hedged to a jaw range of 0.36; a held-out RAVDESS line keeps its range."""
    from core.io.audio import load_audio
    from core.io.ffmpeg import run_ffmpeg

    m = am.load_model()
    j = am.UNITS.index("jaw_open")

    def jaw_range(samples, sr) -> tuple[float, float]:
        feat = analyse_audio(samples, sr)
        jaw = am.mouth_curves(feat, 100.0, feat.n, m)["jaw_open"]
        raw = m.predict(feat)[:, j]
        widened = np.median(raw) + (raw - np.median(raw)) * m.spread[j]
        return am.range_gain(widened), float(np.ptp(np.percentile(jaw, [5, 95])))

    clip = shared("clips", "lp_d10.mp4")
    wav = tmp_path / "a.wav"
    run_ffmpeg(["-y", "-i", str(clip), "-vn", "-ac", "1", "-ar", "16000", str(wav)], check=True)
    song = load_audio(wav)
    gain, rng_song = jaw_range(song.samples, song.sample_rate)
    assert gain > 1.5 and rng_song > 0.55, (gain, rng_song)        # was a range of 0.36
    speech = load_audio(shared("emotion_speech", "ravdess", "Actor_20", "03-01-05-02-02-02-20.flac"))
    gain, _ = jaw_range(speech.samples, speech.sample_rate)
    assert gain == 1.0
