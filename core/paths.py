"""Where the app keeps models, caches and logs: the user's own directories.

Never the install folder (a frozen app may live in a read-only location).
SYNCHRORAMA_HOME overrides everything (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "SynchroRaMa"


def _base(kind: str) -> Path:
    home = os.environ.get("SYNCHRORAMA_HOME")
    if home:
        return Path(home) / kind
    import platformdirs

    fn = {"cache": platformdirs.user_cache_dir, "data": platformdirs.user_data_dir,
          "log": platformdirs.user_log_dir, "config": platformdirs.user_config_dir}[kind]
    return Path(fn(APP, False))


def cache_dir() -> Path:
    return _base("cache")


def data_dir() -> Path:
    return _base("data")


def models_dir() -> Path:
    return data_dir() / "models"


def log_dir() -> Path:
    return _base("log")


def config_dir() -> Path:
    return _base("config")
