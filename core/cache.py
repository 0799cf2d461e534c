"""Analysis cache keyed by a hash of the inputs, in the user cache dir.

Re-rendering after a curve edit or a renderer change must not redo speech
analysis: each analysis stage stores its JSON result under a key made from
the content hashes of its inputs, its settings and the code version.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from core import __version__
from core.io.files import atomic_write_text
from core.paths import cache_dir


# Packages whose code and tables (.py, .json manifests with weight sha256s)
# shape cached analysis results: a new aligner or a retrained SER must not
# serve stale results.
_ANALYSIS_PACKAGES = ("speech", "emotion", "motion", "scene")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the analysis code; the version string where sources are absent (frozen builds)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(__version__.encode())
    for pkg in _ANALYSIS_PACKAGES:
        for path in sorted([*(root / pkg).rglob("*.py"), *(root / pkg).rglob("*.json")]):
            try:
                h.update(path.read_bytes())
            except OSError:
                continue
    return h.hexdigest()[:16]


def cache_key(stage: str, *parts: Any) -> str:
    h = hashlib.sha256(f"{stage}|{code_fingerprint()}".encode())
    for p in parts:
        h.update(b"|")
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return f"{stage}-{h.hexdigest()[:32]}"


class AnalysisCache:
    def __init__(self, root: Path | None = None, enabled: bool = True):
        self.root = Path(root) if root else cache_dir() / "analysis"
        self.enabled = enabled

    def get(self, key: str) -> dict | None:
        if not self.enabled:
            return None
        path = self.root / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict) -> None:
        if not self.enabled:
            return
        try:
            atomic_write_text(self.root / f"{key}.json", json.dumps(value, separators=(",", ":")))
        except OSError:
            pass  # a cache that cannot be written only costs time

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.json")) if self.root.exists() else 0

    def clear(self) -> None:
        for p in self.root.glob("*.json"):
            p.unlink(missing_ok=True)
