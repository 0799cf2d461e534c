"""Issue 19: the free phone loop decodes in a helper process, with the same result."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import core.speech.align as A


_RUN = """
import json, sys
import core.speech.align as A
from core.io.audio import load_audio
from core.pipeline import sample_paths
from core.speech.timing import speech_timing
A._helper_wanted = lambda seconds: {helper}
started = []
real = A._FreeHelper.start.__func__
A._FreeHelper.start = classmethod(lambda cls: started.append(real(cls)) or started[-1])
_, wav, txt = sample_paths()
al = speech_timing(load_audio(wav), txt.read_text(encoding="utf-8"))
print(json.dumps({{"alignment": al.to_dict(), "helpers": len(started),
                  "closed": all(h is not None and h._proc.poll() == 0 for h in started)}}))
"""


def _align(helper: bool) -> dict:
    # each in a new process, as the CLI runs: pocketsphinx decoders carry state from one
    # utterance to the next, so a process that aligned before scores a little differently
    out = subprocess.run([sys.executable, "-c", _RUN.format(helper=helper)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_alignment_with_the_helper_is_the_alignment_without():
    alone, helped = _align(False), _align(True)
    assert alone["helpers"] == 0 and helped["helpers"] == 1 and helped["closed"]
    assert helped["alignment"] == alone["alignment"]
    assert helped["alignment"]["words"] and helped["alignment"]["confidence"] > 0.5


def test_a_failed_helper_answer_is_computed_here(monkeypatch):
    pcm = A._pcm(np.zeros(16000, np.float32))

    class Dead:
        def send(self, pcm, n):
            return True

        def recv(self):
            return None

    got = A._FreeScores(pcm, 100, Dead()).get()
    assert np.array_equal(got, A._free_scores(pcm, 100))


def test_the_helper_is_not_used_on_one_thread(monkeypatch):
    monkeypatch.setenv("SYNCHRORAMA_THREADS", "1")
    assert not A._helper_wanted(60.0)
    monkeypatch.delenv("SYNCHRORAMA_THREADS")
    assert not A._helper_wanted(1.0)
