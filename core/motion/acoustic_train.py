"""Train the acoustic mouth model (``synchrorama train-mouth``, in core/commands/mouth.py).

Teacher: the project's own phone path. Every training utterance has known
phones, either from forced alignment of a known sentence (RAVDESS
statements "Kids are talking by the door" / "Dogs are sitting by the door",
TESS "Say the word <word>") or from espeak-ng, which reports the phones it
synthesises in any of its languages. ``core.motion.visemes.coarticulate``
turns the phones into the six speech-unit curves (100 Hz, 80 ms lip lead,
p/b/m closures, rest in pauses) exactly as a render with a script would,
and the model learns to predict those curves from ``AudioFeatures``.

Augmentation (so singing, music and other voices are not out of
distribution): tape-speed changes of 0.8-1.25 (pitch and tempo move
together, formants shift like another vocal tract), a gain change,
synthetic music (chords, a melody line, drums) or noise mixed in at 0-20 dB
below the voice, and espeak-ng voices at slow rates and wide pitch ranges.
The teacher curve is stretched with the audio.

Speaker-independent evaluation: RAVDESS actors 19 and 20, TESS words in a
fixed held-out set, and espeak sentences never used in training are kept
out; the report gives the per-clip Pearson r between the model's and the
phone path's curves there, next to the loudness envelope and the previous
hand-made acoustic mouth.

Runs on one CPU core (``torch.set_num_threads(1)``); teacher curves and
features are cached in ``--cache`` (default under /tmp) keyed by the data
and the settings, so a rerun only trains.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.motion.acoustic_mouth import (
    INPUTS, OFFSETS, UNITS, AcousticMouthModel, frame_inputs, save_model,
)

RAVDESS_TEXT = {"01": "kids are talking by the door", "02": "dogs are sitting by the door"}
HOLDOUT_ACTORS = (19, 20)
TESS_EVERY = 3            # one TESS clip in three is enough: 200 words, 14 speaker-emotions
RAVDESS_EVERY = 2         # two sentences only: half the training actors' clips carry the same phones
ESPEAK_READINGS = 5       # voices / rates / pitch ranges per espeak-ng training sentence
CACHE_VERSION = 5         # 5: the feature series carry 40 log-mel bands (``mel``)
PHONES_VERSION = 4        # the forced alignments do not depend on the features: kept across versions
RAW = ("rms_db", "centroid", "flatness", "low_ratio", "mid_ratio", "f0", "voiced")
SR = 16000

# espeak-ng training sentences (other languages give vowels and rhythms English lacks)
ESPEAK_TRAIN: dict[str, list[str]] = {
    "en-us": ["The weather turned cold before we reached the harbour.",
              "Please bring me the blue bowl from the kitchen table.",
              "Nobody knew why the old clock stopped at midnight.",
              "We walked along the river and watched the boats go by.",
              "Five brave women moved the piano up the stairs."],
    "de": ["Am Morgen fahren wir mit dem Zug nach Hamburg.",
           "Die Katze schläft auf dem warmen Fensterbrett.",
           "Können Sie mir bitte den Weg zum Bahnhof zeigen?",
           "Wir haben im Sommer oft am See gebadet.",
           "Über den Bergen ziehen dunkle Wolken auf."],
    "es": ["Mañana vamos a comer con mis abuelos en el campo.",
           "La música suena muy fuerte en la plaza mayor.",
           "¿Puedes abrir la ventana, por favor?",
           "El perro corre feliz por la playa todos los días.",
           "Nunca olvidaré aquel viaje por las montañas."],
    "fr": ["Nous partons demain matin pour la mer.",
           "Le boulanger ouvre sa boutique avant le lever du soleil.",
           "Pourquoi les oiseaux chantent-ils si tôt?",
           "Ma voisine porte toujours un grand chapeau rouge."],
    "it": ["Oggi pomeriggio andiamo a vedere la partita.",
           "La nonna prepara la pasta fresca ogni domenica.",
           "Quanto costa questo biglietto per Roma?",
           "Il mare era calmo e pieno di barche colorate."],
    "pt": ["O comboio chega à estação às nove horas.",
           "Gostamos muito de ouvir música ao domingo.",
           "A minha irmã mora perto do rio."],
    "pl": ["Jutro rano pojedziemy do babci na wieś.",
           "Ten pies bardzo lubi biegać po parku."],
    "nl": ["Morgen gaan we met de fiets naar het strand.",
           "De bakker verkoopt heerlijk vers brood."],
}
# held out from training: the benchmark's non-English utterances and the test
ESPEAK_HELDOUT: dict[str, list[str]] = {
    "de": ["Meine Großmutter erzählt gern Geschichten aus ihrer Kindheit am Meer, "
           "und wir hören ihr jeden Abend zu."],
    "es": ["Los niños juegan en el parque mientras sus padres hablan de la cosecha "
           "y miran el cielo lleno de nubes."],
}
VOICE_VARIANTS = ("", "+f3", "+m3", "+f2")


@dataclass
class Item:
    """One training or evaluation utterance with its teacher."""

    key: str          # unique, stable across runs (used for caching and folds)
    group: str        # "train" or "heldout"
    corpus: str       # "ravdess" | "tess" | "espeak"


@dataclass
class Utt:
    samples: np.ndarray
    phones: list
    item: Item


@dataclass
class Cached:
    """Per-frame inputs and teacher targets, clips concatenated (cache payload)."""

    X: np.ndarray            # (N, len(INPUTS)) float32 model inputs (from ``raw``, per clip)
    Y: np.ndarray            # (N, len(UNITS)) float32
    starts: np.ndarray       # (C + 1,) clip boundaries into X / Y
    keys: list[str]
    groups: list[str]
    variants: list[str]      # "clean" | "aug1" | ...
    info: dict = field(default_factory=dict)
    raw: np.ndarray | None = None  # (N, len(RAW)) the AudioFeatures series the inputs come from
    mel: np.ndarray | None = None  # (N, N_MELS) float16 AudioFeatures.mel_db, same frames as ``raw``


def _raw(feat) -> np.ndarray:
    return np.stack([np.asarray(getattr(feat, k), np.float32) for k in RAW], 1)


def _inputs_from_raw(raw: np.ndarray, mel: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Model inputs per clip from the cached series (so changing the inputs needs no new teacher)."""
    from core.speech.features import AudioFeatures

    X = np.empty((len(raw), len(INPUTS)), np.float32)
    for a, b in zip(starts[:-1], starts[1:]):
        r = raw[a:b]
        feat = AudioFeatures(100.0, r[:, 0], r[:, 1], r[:, 2], r[:, 3], r[:, 5], r[:, 6] > 0.5, r[:, 4],
                             mel[a:b])
        X[a:b] = frame_inputs(feat)
    return X


# ------------------------------------------------------------------ sources
def _tess_word(path: Path) -> str:
    parts = path.stem.split("_")
    return parts[1].lower() if len(parts) >= 3 else ""


def _tess_heldout(word: str) -> bool:
    return zlib.crc32(word.encode()) % 10 == 0


def list_items(data: Path | None, espeak: bool) -> list[tuple[Item, object]]:
    """(item, source) pairs: source is a file path (aligned) or (voice, text, rate, pitch, range)."""
    out: list[tuple[Item, object]] = []
    if data is not None:
        for p in sorted((data / "ravdess").glob("Actor_*/*.flac")) + sorted((data / "ravdess").glob("Actor_*/*.wav")):
            parts = p.stem.split("-")
            if len(parts) != 7 or parts[4] not in RAVDESS_TEXT:
                continue
            actor = int(parts[6])
            if actor not in HOLDOUT_ACTORS and (int(parts[5]) + int(parts[3])) % RAVDESS_EVERY:
                continue  # keep repetition 1 at normal and repetition 2 at strong intensity
            out.append((Item(f"ravdess/{p.stem}", "heldout" if actor in HOLDOUT_ACTORS else "train",
                             "ravdess"), p))
        tess = sorted(p for p in (data / "tess").glob("*_*/*") if p.suffix.lower() in (".flac", ".wav"))
        for i, p in enumerate(tess):
            w = _tess_word(p)
            if not w:
                continue
            held = _tess_heldout(w)
            if not held and i % TESS_EVERY:
                continue
            if held and i % (TESS_EVERY * 2):
                continue
            out.append((Item(f"tess/{p.parent.name}/{p.stem}", "heldout" if held else "train", "tess"), p))
    if espeak:
        rng = np.random.default_rng(1234)
        for sets, group in ((ESPEAK_TRAIN, "train"), (ESPEAK_HELDOUT, "heldout")):
            for lang, texts in sets.items():
                for j, text in enumerate(texts):
                    n_var = ESPEAK_READINGS if group == "train" else 1
                    for k in range(n_var):
                        var = VOICE_VARIANTS[(j + k) % len(VOICE_VARIANTS)] if group == "train" else ""
                        slow = k >= 2 and k % 2 == 0  # slow, wide-pitch readings: long vowels, nearer singing
                        rate = int(rng.integers(90, 115) if slow else rng.integers(140, 190))
                        pitch = int(rng.integers(25, 80))
                        rng_ = int(rng.integers(70, 100) if slow else rng.integers(30, 70))
                        out.append((Item(f"espeak/{lang}/{j}/{k}", group, "espeak"),
                                    (lang + var, text, rate, pitch, rng_)))
    return out


def load_utterance(item: Item, source) -> Utt | None:
    """Samples + timed ARPAbet phones of one item (None when alignment fails)."""
    if item.corpus == "espeak":
        from core.motion.espeak_phones import synthesise

        voice, text, rate, pitch, rng_ = source
        u = synthesise(text, voice, rate=rate, pitch=pitch, pitch_range=rng_)
        return Utt(u.samples, u.phones, item)
    from core.emotion.ser_data import read_clip
    from core.speech.align import align_words

    x = read_clip(Path(source))
    if item.corpus == "ravdess":
        words = RAVDESS_TEXT[Path(source).stem.split("-")[4]].split()
    else:
        words = ["say", "the", "word", _tess_word(Path(source))]
    res = align_words(x, SR, words)
    if res.mismatch or not any(p.label != "SIL" for p in res.phones):
        return None
    return Utt(x, list(res.phones), item)


# ------------------------------------------------------------------ augmentation
def synth_music(n: int, rng: np.random.Generator) -> np.ndarray:
    """A few seconds of synthetic accompaniment: chords, a melody line, drums.

    Only needs to look like music to the features (harmonic partials moving
    in steps, percussive onsets), so the model learns that such energy does
    not open the mouth when no voice is in it.
    """
    t = np.arange(n) / SR
    out = np.zeros(n)
    beat = 60.0 / rng.uniform(70, 150)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    pos = 0.0
    while pos < n / SR:
        dur = beat * rng.choice([1, 2, 4])
        a, b = int(pos * SR), min(n, int((pos + dur) * SR))
        chord = root * 2 ** (np.array([0, rng.choice([3, 4]), 7, 12]) / 12) * 2 ** (rng.integers(-5, 6) / 12)
        seg = t[a:b] - pos
        env = np.minimum(1, seg / 0.02) * np.exp(-seg * rng.uniform(0.3, 2.0))
        for f in chord:
            for h in range(1, 6):
                out[a:b] += env * np.sin(2 * np.pi * f * h * seg + rng.uniform(0, 6.3)) / (h * h) * 0.3
        pos += dur
    if rng.random() < 0.7:  # melody line (a lead instrument, voice-like range)
        pos = 0.0
        while pos < n / SR:
            dur = beat * rng.choice([0.5, 1, 1, 2])
            a, b = int(pos * SR), min(n, int((pos + dur) * SR))
            f = root * 2 * 2 ** (rng.choice([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
            seg = t[a:b] - pos
            env = np.minimum(1, seg / 0.03) * np.exp(-seg * 1.5)
            for h in range(1, 8):
                out[a:b] += env * np.sin(2 * np.pi * f * h * seg) / h * 0.25
            pos += dur
    if rng.random() < 0.8:  # drums: kick and hi-hat on the beat grid
        k = np.arange(int(0.15 * SR)) / SR
        kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-k * 30)) * k) * np.exp(-k * 25)
        hat = np.diff(rng.standard_normal(int(0.04 * SR) + 1)) * np.exp(-np.arange(int(0.04 * SR)) / SR * 120)
        pos = rng.uniform(0, beat)
        while pos < n / SR:
            a = int(pos * SR)
            m = min(len(kick), n - a)
            out[a:a + m] += kick[:m] * 0.8
            a2 = int((pos + beat / 2) * SR)
            if a2 < n:
                m2 = min(len(hat), n - a2)
                out[a2:a2 + m2] += hat[:m2] * 0.2
            pos += beat
    return out.astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.arange(len(spec)), 1)
    return np.fft.irfft(spec / np.sqrt(f), n).astype(np.float32)


def augment(x: np.ndarray, rng: np.random.Generator, loud_music: bool = False) -> tuple[np.ndarray, float]:
    """(augmented samples, duration factor): the teacher is stretched by the factor.

    ``loud_music``: accompaniment at -5..+10 dB SNR that never stops (a song:
    the voice only rises above it), else music or noise at 0..20 dB.
    """
    from scipy.signal import resample_poly

    speed = float(rng.choice([0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.25]))
    up, down = {0.8: (5, 4), 0.85: (20, 17), 0.9: (10, 9), 0.95: (20, 19), 1.0: (1, 1), 1.05: (20, 21),
                1.1: (10, 11), 1.2: (5, 6), 1.25: (4, 5)}[speed]
    y = resample_poly(x, up, down).astype(np.float32) if up != down else x.copy()
    factor = len(y) / max(len(x), 1)
    p = float(np.sqrt(np.mean(y ** 2)) + 1e-9)
    kind = 0.0 if loud_music else rng.random()
    if kind < 0.55:
        bg = synth_music(len(y), rng)
    elif kind < 0.8:
        bg = _pink(len(y), rng)
    else:
        bg = rng.standard_normal(len(y)).astype(np.float32)
    snr = rng.uniform(-5, 10) if loud_music else rng.uniform(0, 20)
    bg = bg / (np.sqrt(np.mean(bg ** 2)) + 1e-9) * p * 10 ** (-snr / 20)
    y = (y + bg) * 10 ** (rng.uniform(-12, 6) / 20)
    return np.clip(y, -1, 1).astype(np.float32), factor


# ------------------------------------------------------------------ teacher
def teacher_curves(samples: np.ndarray, phones: list) -> tuple[np.ndarray, object]:
    """(T, 6) phone-path curves at 100 Hz and the audio features they came with."""
    from core.motion.visemes import coarticulate, jaw_loudness
    from core.speech.features import analyse_audio

    feat = analyse_audio(samples, SR)
    curves = coarticulate(phones, feat.n, feat.rate, jaw_loudness(feat.rms_db, feat.voiced))
    return np.stack([curves[u] for u in UNITS], 1).astype(np.float32), feat


def stretch(Y: np.ndarray, n: int, factor: float) -> np.ndarray:
    """Teacher curves resampled onto audio that was made ``factor`` times longer."""
    t = np.arange(n) / factor
    return np.stack([np.interp(t, np.arange(len(Y)), Y[:, j]) for j in range(Y.shape[1])], 1).astype(np.float32)


def _teacher_source_digest() -> str:
    """Hash of the viseme model's source: changing the phone path invalidates cached curves."""
    import inspect

    from core.motion import visemes

    return hashlib.sha256(inspect.getsource(visemes).encode()).hexdigest()[:16]


def _espeak_source_digest() -> str:
    """Hash of the espeak-ng phone mapping: changing it changes the espeak items' teacher curves."""
    import inspect

    from core.motion import espeak_phones

    return hashlib.sha256(inspect.getsource(espeak_phones).encode()).hexdigest()[:16]


def _phones_cache(cache: Path) -> tuple[Path, dict]:
    path = Path(cache) / f"acoustic_phones_v{PHONES_VERSION}.json"
    return path, (json.loads(path.read_text(encoding="utf-8")) if path.exists() else {})


def build_cache(data: Path | None, cache: Path, *, espeak: bool = True, n_aug: int = 2, seed: int = 0,
                progress=print) -> Cached:
    """Teacher curves and feature series for every item (clean + ``n_aug`` augmented copies), cached.

    Two caches: the forced alignments (phones per item, JSON, the slow part)
    and the teacher/feature arrays (npz) keyed by items and settings.
    Odd-numbered augmented copies carry loud, continuous music.
    """
    from core.speech.features import analyse_audio
    from core.tracks import Phone

    items = list_items(data, espeak)
    key = hashlib.sha256(json.dumps({"v": CACHE_VERSION, "items": [i.key for i, _ in items],
                                     "n_aug": n_aug, "seed": seed,
                                     "teacher": _teacher_source_digest(),
                                     "espeak": _espeak_source_digest() if espeak else None}
                                    ).encode()).hexdigest()[:16]
    path = Path(cache) / f"acoustic_teacher_{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            progress(f"teacher: reusing {path}")
            if "mel" not in z.files:
                raise ValueError(f"teacher cache {path} has no log-mel bands (written by an older version); "
                                 "delete it and rerun.")
            raw, mel, starts = z["raw"], z["mel"], z["starts"]
            return Cached(_inputs_from_raw(raw, mel, starts), z["Y"], starts, list(z["keys"]),
                          list(z["groups"]), list(z["variants"]), json.loads(str(z["info"])), raw, mel)
    ppath, phones_cache = _phones_cache(cache)
    rng = np.random.default_rng(seed)
    Rs, Ms, Ys, keys, groups, variants = [], [], [], [], [], []
    failed, t0 = 0, time.perf_counter()
    for i, (item, source) in enumerate(items):
        cached = phones_cache.get(item.key, "absent")
        if item.corpus != "espeak" and cached is None:
            failed += 1
            continue
        if item.corpus != "espeak" and cached != "absent":
            from core.emotion.ser_data import read_clip

            utt = Utt(read_clip(Path(source)), [Phone(p[0], p[1], p[2]) for p in cached], item)
        else:
            utt = load_utterance(item, source)
            if item.corpus != "espeak":
                phones_cache[item.key] = None if utt is None else [[p.label, p.start, p.end] for p in utt.phones]
        if utt is None:
            failed += 1
            continue
        Y, feat = teacher_curves(utt.samples, utt.phones)
        Rs.append(_raw(feat))
        Ms.append(feat.mel_db)
        Ys.append(Y)
        keys.append(item.key)
        groups.append(item.group)
        variants.append("clean")
        for a in range(n_aug):
            y, factor = augment(utt.samples, rng, loud_music=a % 2 == 0)
            f2 = analyse_audio(y, SR)
            Rs.append(_raw(f2))
            Ms.append(f2.mel_db)
            Ys.append(stretch(Y, f2.n, factor))
            keys.append(item.key)
            groups.append(item.group)
            variants.append(f"aug{a + 1}")
        if (i + 1) % 100 == 0:
            progress(f"teacher: {i + 1}/{len(items)} utterances ({time.perf_counter() - t0:.0f} s)")
    ppath.parent.mkdir(parents=True, exist_ok=True)
    ppath.write_text(json.dumps(phones_cache), encoding="utf-8")
    starts = np.concatenate([[0], np.cumsum([len(x) for x in Rs])]).astype(np.int64)
    info = {"items": len(items), "failed_alignments": failed, "seconds": round(time.perf_counter() - t0, 1),
            "frames": int(starts[-1])}
    raw = np.concatenate(Rs)
    mel = np.concatenate(Ms).astype(np.float16)
    out = Cached(_inputs_from_raw(raw, mel, starts), np.concatenate(Ys), starts, keys, groups, variants, info,
                 raw, mel)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, raw=raw, mel=mel, Y=out.Y, starts=starts, keys=np.array(keys), groups=np.array(groups),
             variants=np.array(variants), info=json.dumps(info))
    tmp.replace(path)
    progress(f"teacher: {len(keys)} clips, {info['frames']} frames, {failed} failed alignments, "
             f"{info['seconds']} s; cached in {path}")
    return out


# ------------------------------------------------------------------ training
def _context_rows(X: np.ndarray, clip_lo: np.ndarray, clip_hi: np.ndarray, idx: np.ndarray,
                  offsets: tuple[int, ...]) -> np.ndarray:
    """Context rows for frames ``idx`` of the concatenated clips (edges repeated per clip)."""
    j = np.clip(idx[:, None] + np.asarray(offsets)[None, :], clip_lo[:, None], clip_hi[:, None] - 1)
    return X[j].reshape(len(idx), -1)


def _smoothed(c: Cached) -> np.ndarray:
    """Inputs averaged over 3 frames within each clip (as ``with_context`` does)."""
    from scipy.ndimage import uniform_filter1d

    Xs = np.empty_like(c.X)
    for a, b in zip(c.starts[:-1], c.starts[1:]):
        Xs[a:b] = uniform_filter1d(c.X[a:b], 3, axis=0, mode="nearest") if b - a > 1 else c.X[a:b]
    return Xs


UNIT_WEIGHT = np.array([3.0, 1.0, 1.0, 2.0, 0.5, 0.5], np.float32)  # the jaw is what viewers read


def fit(c: Cached, *, hidden: tuple[int, ...] = (), epochs: int = 8, batch: int = 512,
        lr: float = 2e-3, seed: int = 0, stride: int = 2, progress=print) -> AcousticMouthModel:
    """Fit the model on the training clips (torch, one thread); returns NumPy weights.

    ``hidden=()`` (the default, shipped) is a logistic-linear model per unit;
    hidden layers are there for experiments (docs/a2m.md has the comparison).
    """
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    Xs = _smoothed(c)
    clip_of = np.repeat(np.arange(len(c.keys)), np.diff(c.starts))
    train_clip = np.array([g == "train" for g in c.groups])
    frames = np.flatnonzero(train_clip[clip_of])[::stride]
    lo, hi = c.starts[:-1][clip_of], c.starts[1:][clip_of]
    sample = rng.choice(frames, min(len(frames), 50000), replace=False)
    Z = _context_rows(Xs, lo[sample], hi[sample], sample, OFFSETS)
    mu = Z.mean(0).astype(np.float32)
    sd = np.maximum(Z.std(0), 1e-3).astype(np.float32)
    dims = [len(INPUTS) * len(OFFSETS), *hidden, len(UNITS)]
    mods: list = []
    for i in range(len(dims) - 1):
        mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            mods.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * (len(frames) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    w = torch.from_numpy(UNIT_WEIGHT)
    mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(sd)
    t0 = time.perf_counter()
    for ep in range(epochs):
        perm = rng.permutation(frames)
        tot = 0.0
        for k in range(len(perm) // batch):
            idx = perm[k * batch:(k + 1) * batch]
            xb = torch.from_numpy(_context_rows(Xs, lo[idx], hi[idx], idx, OFFSETS))
            yb = torch.from_numpy(c.Y[idx])
            pred = torch.sigmoid(net((xb - mu_t) / sd_t))
            loss = (((pred - yb) ** 2) * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach())
        progress(f"epoch {ep + 1}/{epochs}: loss {tot / max(1, len(perm) // batch):.4f} "
                 f"({time.perf_counter() - t0:.0f} s)")
    layers = [(m.weight.detach().numpy().astype(np.float32).copy(), m.bias.detach().numpy().astype(np.float32).copy())
              for m in net if isinstance(m, torch.nn.Linear)]
    model = AcousticMouthModel(mu, sd, layers, OFFSETS, UNITS)
    model.spread = spread_factors(model, c, Xs)
    progress("spread per unit: " + ", ".join(f"{u} {g:.2f}" for u, g in zip(UNITS, model.spread)))
    return model


def spread_factors(model: AcousticMouthModel, c: Cached, Xs: np.ndarray) -> np.ndarray:
    """Per unit, the median over clean training clips of the teacher's std over the model's, in 1..2.

    Within each clip, because the render widens each recording's curves
    about its own median: pooled frames would count differences between
    clips (speakers, gains) as movement and widen too much.
    """
    ratios = []
    for ci, (g, var) in enumerate(zip(c.groups, c.variants)):
        if g != "train" or var != "clean":
            continue
        a, b = c.starts[ci], c.starts[ci + 1]
        if b - a < 50:
            continue
        idx = np.arange(a, b)
        P = model.forward(_context_rows(Xs, np.full(len(idx), a), np.full(len(idx), b), idx, model.offsets))
        ratios.append(c.Y[a:b].std(0) / np.maximum(P.std(0), 1e-3))
    if not ratios:
        return np.ones(len(UNITS), np.float32)
    return np.clip(np.median(np.array(ratios), axis=0), 1.0, 2.0).astype(np.float32)


# ------------------------------------------------------------------ evaluation
def _r(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) < 1e-6 or np.std(b) < 1e-6:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def opening(Y: np.ndarray) -> np.ndarray:
    """A single mouth-opening figure from the units: jaw, less where the lips are shut."""
    return Y[:, 0] * (1 - Y[:, 3])


def evaluate(model: AcousticMouthModel, c: Cached) -> dict:
    """Per-clip r on the held-out clips: model vs teacher, loudness vs teacher."""
    Xs = _smoothed(c)
    res: dict[str, dict[str, list[float]]] = {}
    for ci, (key, g, var) in enumerate(zip(c.keys, c.groups, c.variants)):
        if g != "heldout":
            continue
        a, b = c.starts[ci], c.starts[ci + 1]
        idx = np.arange(a, b)
        Z = _context_rows(Xs, np.full(len(idx), a), np.full(len(idx), b), idx, model.offsets)
        P = model.forward(Z)
        T = c.Y[a:b]
        corpus = key.split("/")[0]
        bucket = res.setdefault(f"{corpus}.{'clean' if var == 'clean' else 'aug'}", {})
        loud = np.clip(c.X[a:b, 0] * 20 + 40, 0, None)  # loudness above -40 dB re the loud frames
        for name, val in (("jaw", _r(P[:, 0], T[:, 0])), ("opening", _r(opening(P), opening(T))),
                          ("round", _r(P[:, 1], T[:, 1])), ("close", _r(P[:, 3], T[:, 3])),
                          ("loudness_jaw", _r(loud, T[:, 0]))):
            bucket.setdefault(name, []).append(val)
    return {k: {m: {"mean": round(float(np.nanmean(v)), 4), "n": int(np.isfinite(v).sum())}
                for m, v in d.items()} for k, d in sorted(res.items())}


LICENCE_TEXT = """SynchroRaMa acoustic mouth weights (acoustic_mouth_v2.npz)

Trained by `synchrorama train-mouth` on:
- RAVDESS (Livingstone & Russo 2018) speech, licensed CC BY-NC-SA 4.0;
- TESS (Toronto emotional speech set), licensed CC BY-NC-ND 4.0;
- speech synthesised by espeak-ng (GPL-3.0 program; its output is not
  covered by its licence) from sentences written for this project.

The teacher curves are the project's own viseme model applied to
forced-aligned (pocketsphinx) or synthesised phones; no video was used.

Weights trained on RAVDESS and TESS are for non-commercial use, and users
who need commercial use retrain on their own data with the project's
training command (`synchrorama train-mouth --data DIR`, or
`--no-corpora` for espeak-ng speech only).
"""


def train(data: Path | None, out_dir: Path, *, cache: Path, espeak: bool = True, seed: int = 0,
          epochs: int = 8, n_aug: int = 2, progress=print) -> dict:
    """Whole run: teacher cache, fit, held-out report, weights + manifest + licence."""
    t0 = time.perf_counter()
    c = build_cache(data, cache, espeak=espeak, n_aug=n_aug, seed=seed, progress=progress)
    t_teacher = time.perf_counter() - t0
    model = fit(c, epochs=epochs, seed=seed, progress=progress)
    report = evaluate(model, c)
    for k, v in report.items():
        progress(f"held-out {k}: " + ", ".join(f"{m} {d['mean']:.3f} (n={d['n']})" for m, d in v.items()))
    corpora = (["RAVDESS actors 1-18 (half of their clips)", "TESS (one clip in three, words outside the held-out set)"] if data is not None else []) \
        + (["espeak-ng sentences (" + ", ".join(ESPEAK_TRAIN) + ")"] if espeak else [])
    manifest = {
        "name": "synchrorama-acoustic-mouth", "version": 2,
        "model": f"logistic-linear: {len(INPUTS)} inputs x {len(OFFSETS)} context taps -> 6 sigmoid units",
        "teacher": "core.motion.visemes.coarticulate on forced-aligned / espeak-ng phones",
        "trained_on": corpora,
        "augmentation": ("tape speed 0.8-1.25, gain -12..+6 dB; per utterance one copy with continuous synthetic "
                         "music at -5..+10 dB SNR and one with music / pink / white noise at 0-20 dB"),
        "teacher_visemes_sha256_16": _teacher_source_digest(),
        "command": "synchrorama train-mouth" + (f" --data {data}" if data is not None else " --no-corpora"),
        "seed": seed, "epochs": epochs, "teacher_info": c.info,
        "licence": ("Trained on RAVDESS (CC BY-NC-SA 4.0) and TESS (CC BY-NC-ND 4.0): non-commercial use only; "
                    "retrain on your own data for commercial use.") if data is not None else
                   "Trained on espeak-ng speech only.",
        "heldout": report,
        "spread": {u: round(float(g), 3) for u, g in zip(UNITS, model.spread)},
    }
    path = save_model(model, Path(out_dir), manifest)
    (Path(out_dir) / "LICENCE.txt").write_text(LICENCE_TEXT if data is not None else
                                              LICENCE_TEXT.split("Weights trained on")[0], encoding="utf-8")
    return {"seconds": round(time.perf_counter() - t0, 1), "teacher_seconds": round(t_teacher, 1),
            "weights": str(path), "heldout": report, "teacher": c.info}
