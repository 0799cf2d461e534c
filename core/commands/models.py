"""``synchrorama models``: list, verify, import and delete the models in the model store."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from core.errors import UserInputError
from core.models import bundled_models, delete_model, import_model, list_models
from core.paths import models_dir


def configure_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="list", choices=["list", "verify", "import", "delete"])
    p.add_argument("target", nargs="?", help="folder to import, or model name to delete")
    p.add_argument("--json", action="store_true")


def run_models(args: argparse.Namespace) -> int:
    if args.action in ("import", "delete") and not args.target:
        raise UserInputError(f"'models {args.action}' needs a {'folder' if args.action == 'import' else 'name'}.")
    if args.action == "import":
        info = import_model(args.target)
        print(f"imported {info.name} ({info.kind}, {info.size / 1e6:.1f} MB) into {info.path}")
        return 0
    if args.action == "delete":
        delete_model(args.target)
        print(f"deleted {args.target}")
        return 0
    user = list_models(check=args.action == "verify")
    bundled = bundled_models()
    if args.json:
        print(json.dumps({"models_dir": str(models_dir()), "user": [m.to_dict() for m in user],
                          "bundled": [asdict(b) for b in bundled]}))
        return 0
    print(f"user models in {models_dir()}:")
    for m in user or []:
        print(f"  {m.name:<24} {m.kind:<18} {m.size / 1e6:8.1f} MB  {m.status}")
    if not user:
        print("  (none: train one with `synchrorama train-avatar`)")
    print("bundled models:")
    for b in bundled:
        where = b.path or "not installed"
        print(f"  {b.name:<40} {b.licence:<28} {b.size / 1e6:7.1f} MB  {where}")
    return 0
