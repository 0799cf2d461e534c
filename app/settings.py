"""Studio preferences, kept as JSON in the user config directory.

Device, scene-suggestion backend (endpoint, model, whether a non-loopback
host may receive the script), the analysis cache folder, default export
settings for new projects and the recent projects list. A damaged file falls back to defaults (and is logged), so a
bad preference never stops the app from starting.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.io.files import atomic_write_text
from core.paths import config_dir
from core.project import ExportOptions

log = logging.getLogger("synchrorama.app")
MAX_RECENT = 8


@dataclass
class AppSettings:
    device: str = "auto"                # "auto" | "cuda" | "cpu": the diffusion renderer's device
    llm_kind: str = "auto"              # core.scene.backends.BackendConfig.kind
    llm_url: str = "http://127.0.0.1:11434/v1"
    llm_model: str = ""
    llm_allow_remote: bool = False      # the script is sent to the server: loopback only unless allowed
    cache_root: str = ""                # analysis cache folder; "" = <user cache>/analysis
    export: ExportOptions = field(default_factory=ExportOptions)
    recent: list[str] = field(default_factory=list)

    @staticmethod
    def path() -> Path:
        return config_dir() / "studio.json"

    @classmethod
    def load(cls) -> "AppSettings":
        try:
            d = json.loads(cls.path().read_text(encoding="utf-8"))
            s = cls(**{k: d[k] for k in ("device", "llm_kind", "llm_url", "llm_model") if k in d})
            s.llm_allow_remote = bool(d.get("llm_allow_remote", False))
            s.cache_root = str(d.get("cache_root", "") or "")
            s.export = ExportOptions.from_dict(d.get("export", {}))
            s.recent = [str(x) for x in d.get("recent", [])][:MAX_RECENT]
            return s
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("settings file unreadable (%s); using defaults", exc)
            return cls()

    def save(self) -> None:
        try:
            atomic_write_text(self.path(), json.dumps(asdict(self), indent=1))
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        self.recent = [path] + [p for p in self.recent if p != path]
        self.recent = self.recent[:MAX_RECENT]
        self.save()

    def backend_config(self):
        from core.scene.backends import BackendConfig

        return BackendConfig(kind=self.llm_kind, url=self.llm_url, model=self.llm_model,
                             allow_remote=self.llm_allow_remote)

    def cache(self):
        """The analysis cache the app reads and writes (Settings > cache location)."""
        from core.cache import AnalysisCache

        return AnalysisCache(root=Path(self.cache_root) if self.cache_root else None)
