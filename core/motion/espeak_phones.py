"""Synthesised speech with exact phone timings, from the system's espeak-ng.

Why: the acoustic mouth model (``core.motion.acoustic_mouth``) learns from
speech whose phones are known. English corpora give that through forced
alignment; espeak-ng gives it for any of its languages directly, because the
synthesiser reports every phoneme it starts (``espeakINITIALIZE_PHONEME_EVENTS``).
Those events are mapped onto the ARPAbet set the viseme model knows, so the
same coarticulation turns them into teacher curves and into ground truth for
the non-English benchmark utterances.

Only used for training and benchmarks, never at render time. The library
and its voice data come from the pip package ``espeakng-loader`` (a project
dependency: it ships libespeak-ng 1.52 and espeak-ng-data, so a fresh clone
needs no system package and every machine synthesises with the same
version). Where that package is not installed, the system library (Debian
``espeak-ng``) is used instead and ``source`` says so, because its version,
and so the audio and phone timings, may differ. ``EspeakMissing`` names the
fix when neither is there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading
from dataclasses import dataclass

import numpy as np

from core.tracks import Phone

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_EVENT_PHONEME = 7
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


class EspeakMissing(RuntimeError):
    """libespeak-ng is not installed (``pip install espeakng-loader`` or ``apt-get install espeak-ng``)."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass
class Utterance:
    """16 kHz mono samples and the ARPAbet phones espeak-ng says it produced."""

    samples: np.ndarray
    phones: list[Phone]
    raw: list[tuple[str, float]]  # espeak mnemonics and start times, for inspection
    language: str
    text: str


class _Engine:
    """One espeak-ng instance (the C library keeps global state: one lock)."""

    def __init__(self) -> None:
        data: bytes | None = None
        try:
            import espeakng_loader
        except ImportError:
            name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
            self.source = f"system library {name}"
        else:
            name = espeakng_loader.get_library_path()
            data = espeakng_loader.get_data_path().encode()
            self.source = f"espeakng-loader {name}"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as e:
            raise EspeakMissing(f"espeak-ng library not found ({name}): install the project's dependencies "
                                "(`pip install espeakng-loader`) or `apt-get install espeak-ng`.") from e
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data,
                                        _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if self.sr <= 0:
            raise EspeakMissing(f"espeak-ng ({self.source}) failed to initialise: its espeak-ng-data "
                                f"({data.decode() if data else 'default location'}) is missing or damaged.")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._cb = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._cb)
        self.lock = threading.Lock()

    def _on_audio(self, wav, n, events) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                self._events.append((ev.id.string.decode("ascii", "replace"), ev.audio_position))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int
              ) -> tuple[np.ndarray, list[tuple[str, float]]]:
        with self.lock:
            self._chunks, self._events = [], []
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self.lib.espeak_SetParameter(_PARAM_RANGE, int(pitch_range), 0)
            buf = text.encode("utf-8") + b"\0"
            self.lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            x = (np.concatenate(self._chunks).astype(np.float32) / 32768.0) if self._chunks \
                else np.zeros(0, np.float32)
            return x, [(m, t / 1000.0) for m, t in self._events]


_engine: list[_Engine] = []


def _get() -> _Engine:
    if not _engine:
        _engine.append(_Engine())
    return _engine[0]


def source() -> str:
    """Which espeak-ng library synthesises (the pip package's or the system's)."""
    return _get().source


def available() -> bool:
    try:
        _get()
        return True
    except EspeakMissing:
        return False


# espeak-ng phoneme mnemonics (Kirshenbaum-like, shared across its languages)
# -> the ARPAbet labels whose viseme targets fit them best.
_VOWELS = [
    (r"^aI", "AY"), (r"^aU", "AW"), (r"^a", "AA"), (r"^A", "AA"), (r"^&", "AE"),
    (r"^eI", "EY"), (r"^e@", "EH"), (r"^e", "EY"), (r"^E", "EH"), (r"^i@", "IH"), (r"^i", "IY"),
    (r"^I", "IH"), (r"^oU", "OW"), (r"^OI|^Oy|^OY", "OY"), (r"^o", "OW"), (r"^O", "AO"),
    (r"^0", "AO"), (r"^u", "UW"), (r"^U", "UH"), (r"^y|^Y", "UW"), (r"^2|^9", "OW"),
    (r"^3", "ER"), (r"^@", "AH"), (r"^V", "AH"),
]
_CONSONANTS = {
    "p": "P", "b": "B", "m": "M", "f": "F", "v": "V", "w": "W", "T": "TH", "D": "DH",
    "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "tS": "CH", "dZ": "JH", "ts": "S", "dz": "Z",
    "t": "T", "d": "D", "n": "N", "k": "K", "g": "G", "N": "NG", "x": "K", "X": "K",
    "C": "SH", "h": "HH", "j": "Y", "J": "N", "l": "L", "L": "L", "r": "R", "R": "R",
    "*": "D", "pf": "F", "B": "V", "Q": "G", "c": "K", "?": "SIL", "_": "SIL",
}


def to_arpabet(mnemonic: str) -> str:
    """The ARPAbet label for one espeak-ng phoneme mnemonic ("SIL" for pauses)."""
    m = mnemonic.strip()
    if not m or m.startswith("_") or m in ("?", "#", "||", "|"):
        return "SIL"
    # stress marks come first ("'E", ",aI"), length and variant marks last ("3:", "@2")
    # (a digit may also be the vowel itself: "3" is ER, "0" is AO)
    core = re.sub(r"(?<=.)[:;\-#'\",.0-9]+$", "", re.sub(r"^[',%=]+", "", m)) or m
    if core in _CONSONANTS:
        return _CONSONANTS[core]
    for pat, lab in _VOWELS:
        if re.match(pat, core):
            return lab
    if core[0] in _CONSONANTS:
        return _CONSONANTS[core[0]]
    if core[:2] in _CONSONANTS:
        return _CONSONANTS[core[:2]]
    return "AH"


def synthesise(text: str, voice: str = "en", *, rate: int = 160, pitch: int = 50,
               pitch_range: int = 50) -> Utterance:
    """Speak ``text`` with espeak-ng; 16 kHz samples and timed ARPAbet phones."""
    from scipy.signal import resample_poly

    eng = _get()
    x, events = eng.synth(text, voice, rate, pitch, pitch_range)
    g = np.gcd(16000, eng.sr)
    y = resample_poly(x, 16000 // g, eng.sr // g).astype(np.float32) if len(x) else x
    dur = len(y) / 16000.0
    phones: list[Phone] = []
    for k, (mn, t) in enumerate(events):
        end = events[k + 1][1] if k + 1 < len(events) else dur
        if end <= t:
            continue
        lab = to_arpabet(mn)
        if phones and phones[-1].label == lab == "SIL":
            phones[-1] = Phone("SIL", phones[-1].start, end)
            continue
        phones.append(Phone(lab, float(t), float(min(end, dur))))
    if phones and phones[0].start > 0:
        phones.insert(0, Phone("SIL", 0.0, phones[0].start))
    if phones and phones[-1].end < dur - 1e-3:
        phones.append(Phone("SIL", phones[-1].end, dur))
    return Utterance(y, phones, events, voice, text)
