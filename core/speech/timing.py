"""Word and phone timings of the narration (the Alignment stage).

Entry point for the pipeline. With a script this runs forced alignment;
without one, speech-to-text first; when neither yields words the result is
the language-independent "energy" alignment (no words) and A2M drives the
mouth from acoustics alone.
"""

from __future__ import annotations

from core.io.audio import Audio
from core.progress import CancelToken, Progress, no_progress
from core.tracks import Alignment


def speech_timing(audio: Audio, script: str | None, *, progress: Progress = no_progress,
                  cancel: CancelToken | None = None) -> Alignment:
    """Return word/phone timings; never raises for hard-to-align speech."""
    warnings = []
    if script:
        warnings.append("word alignment is not available in this build yet; "
                        "the script is stored and the mouth follows the audio.")
    progress("alignment", 1, 1)
    return Alignment(script=script or "", source="energy", warnings=warnings)
