"""``synchrorama train-mouth``: train the acoustic (no-words) mouth model (core.motion.acoustic_train)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import UserInputError


def configure_train_mouth(p: argparse.ArgumentParser) -> None:
    from core.motion.acoustic_mouth import WEIGHTS_DIR

    p.add_argument("--data", type=Path, default=None,
                   help="emotion_speech folder holding ravdess/ and tess/ (known sentences)")
    p.add_argument("--no-corpora", action="store_true", help="train on espeak-ng speech only")
    p.add_argument("--no-espeak", action="store_true", help="do not add espeak-ng speech")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where the weights and manifest go")
    p.add_argument("--cache", type=Path, default=Path("/tmp/synchrorama_acoustic_cache"))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--augment", type=int, default=2, help="augmented copies per utterance")
    p.add_argument("--seed", type=int, default=0)


def run_train_mouth(args: argparse.Namespace) -> int:
    data = None if args.no_corpora else args.data
    if data is None and not args.no_corpora:
        raise UserInputError("no training data given.", None,
                             "Pass --data DIR (ravdess/ and tess/ inside) or --no-corpora for espeak-ng only.")
    if data is not None and not Path(data).is_dir():
        raise UserInputError("training data folder not found.", data, "Point --data at the emotion_speech folder.")
    if not args.no_espeak:
        from core.motion.espeak_phones import available

        if not available():
            raise UserInputError("espeak-ng is not installed.", None,
                                 "Install it (pip install synchrorama-studio[train], or apt-get install espeak-ng) "
                                 "or pass --no-espeak.")
    from core.motion.acoustic_train import train

    res = train(data, args.out, cache=args.cache, espeak=not args.no_espeak, seed=args.seed,
                epochs=args.epochs, n_aug=args.augment)
    print(json.dumps({k: v for k, v in res.items() if k != "heldout"}))
    return 0
