"""Forced alignment of known words to the audio with pocketsphinx.

How it runs:

- **Windows.** The audio is aligned in windows of at most ``WINDOW_S``
  seconds, so memory stays bounded for hour-long narrations and progress /
  cancel are checked per window. A window that does not reach the end of
  the audio ends at the quietest moment near its limit, and its word
  sequence may end at any word (a finite-state grammar with an exit after
  every word). Only the words that end ``COMMIT_MARGIN_S`` before the
  window's end are kept; the next window starts exactly where the last
  kept word ends, so a word cut by the window edge is aligned again whole.
  The last window must use every remaining word.
- **Retries.** pocketsphinx prunes with beams; when a window finds no
  path ("final result does not match the grammar") it is retried with
  wider beams (``BEAMS``) before the window is given up on.
- **Pronunciations.** Words the dictionary lacks get phones from
  ``core.speech.lts`` (dictionary pieces, then spelling rules).
- **Confidence.** Each window is also decoded with a free phone loop (no
  words); a word whose forced score falls far below the free decoding of
  the same frames was probably not said. The mean gap per word frame and
  the share of the speech that the words cover tell a matching script from
  a wrong or partial one (measured in docs/a2m.md).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.progress import CancelToken, Progress, no_progress
from core.speech.lts import pronounce
from core.tracks import Phone, Word

FRAME_S = 0.01                  # pocketsphinx frame rate is 100 Hz
WINDOW_S = 24.0                 # longest stretch decoded at once
MIN_LAST_S = 6.0                # a tail shorter than this joins the previous window
COMMIT_MARGIN_S = 1.5           # words ending this close to a window's end are redone
BEAMS = (1e-100, 1e-200, 1e-300)
SIDE_PROB = 1e-3         # arcs that start a window late or stop it early
MIN_END_SHARE = 0.6      # a window must use at least this share of its expected words
WINDOW_RETRY_GAP = -30.0  # a window scoring below this is decoded again, wider
_LOG_BASE = math.log(1.0001)    # pocketsphinx scores are in log base 1.0001
SILENCE_WORDS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "(NULL)"}

# Mismatch thresholds (per-frame score gap forced - free, and speech coverage).
# Matching scripts measured -6 to -21, wrong ones -45 to -65 (docs/a2m.md).
GAP_MISMATCH = -32.0
COVERAGE_MISMATCH = 0.55
GAP_GOOD, GAP_BAD = -10.0, -45.0


def _model_paths() -> tuple[str, str, str]:
    import pocketsphinx

    base = pocketsphinx.get_model_path()
    return f"{base}/en-us/en-us", f"{base}/en-us/cmudict-en-us.dict", f"{base}/en-us/en-us-phone.lm.bin"


class _Decoders:
    """pocketsphinx decoders, created on first use and shared (one at a time)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._forced: dict[float, object] = {}
        self._free = None
        self._dict: Pronunciations | None = None
        self._added: dict[str, str] = {}

    def forced(self, beam: float):
        if beam not in self._forced:
            import pocketsphinx as ps

            hmm, dic, _ = _model_paths()
            d = ps.Decoder(ps.Config(hmm=hmm, dict=dic, beam=beam, wbeam=beam * 1e20, pbeam=beam,
                                     bestpath=False, loglevel="FATAL"))
            for word, phones in self._added.items():
                d.add_word(word, phones, update=True)
            self._forced[beam] = d
        return self._forced[beam]

    def free(self):
        if self._free is None:
            import pocketsphinx as ps

            hmm, _, lm = _model_paths()
            self._free = ps.Decoder(ps.Config(hmm=hmm, allphone=lm, beam=1e-60, pbeam=1e-60, lw=2.0,
                                              bestpath=False, loglevel="FATAL"))
        return self._free

    def dictionary(self) -> "Pronunciations":
        """The pronunciation dictionary (first variant of each word)."""
        if self._dict is None:
            _, dic, _ = _model_paths()
            with open(dic, encoding="utf-8") as f:
                self._dict = Pronunciations(f.read())
        return self._dict

    def ensure_words(self, words: list[str], written: dict[str, str] | None = None) -> list[str]:
        """Give unknown words letter-to-sound pronunciations; return every such word.

        Words added by an earlier call are reported again: the answer must not
        depend on what this process aligned before.
        """
        known = self.dictionary()
        new = []
        for w in dict.fromkeys(words):
            if w in known:
                continue
            new.append(w)
            if w in self._added:
                continue
            phones = " ".join(pronounce((written or {}).get(w, w), lambda x: known.get(x.lower())))
            self._added[w] = phones
            for d in self._forced.values():
                d.add_word(w, phones, update=True)
        return new

    def phones_of(self, word: str) -> list[str]:
        return self.dictionary().get(word) or self._added.get(word, "").split()


class Pronunciations(Mapping):
    """word -> phones of a CMU-style dictionary text, the first variant of each word.

    Each of the 135 000 lines is only cut at its first space, and an entry's
    phones are split when asked for (issue 19: splitting every line up front
    took a quarter of a second to a second of each process's first alignment).
    """

    def __init__(self, text: str) -> None:
        raw: dict[str, str] = {}
        for line in text.splitlines():
            word, _, phones = line.strip().partition(" ")
            if word and "(" not in word:
                raw[word] = phones
        self._raw = raw

    def __getitem__(self, word: str) -> list[str]:
        return self._raw[word].split()

    def __contains__(self, word: object) -> bool:
        return word in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


DECODERS = _Decoders()


def known_word(word: str) -> bool:
    return word.lower() in DECODERS.dictionary()


@dataclass
class AlignResult:
    words: list[Word] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    gap: float = 0.0            # mean forced-minus-free score per word frame
    coverage: float = 1.0       # share of speech frames inside aligned words
    failed_windows: int = 0
    new_words: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        g = float(np.clip((self.gap - GAP_BAD) / (GAP_GOOD - GAP_BAD), 0, 1))
        c = float(np.clip((self.coverage - 0.4) / 0.45, 0, 1))
        return round(min(g, c), 3)

    @property
    def mismatch(self) -> bool:
        return (not self.words or self.gap < GAP_MISMATCH or self.coverage < COVERAGE_MISMATCH)


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def _score(seg_ascore: float) -> float:
    """pocketsphinx returns exp(score); get the log-base-1.0001 score back."""
    return math.log(max(seg_ascore, 1e-300)) / _LOG_BASE


def _frame_db(x: np.ndarray, sr: int, chunk_frames: int = 1000) -> np.ndarray:
    """Loudness (dB) per 10 ms frame, computed a minute at a time.

    A float64 copy of the whole narration would cost twice the audio itself
    (half a gigabyte for an hour); 10 s chunks keep the extra memory constant.
    """
    hop = int(sr * FRAME_S)
    n = len(x) // hop
    out = np.empty(n)
    for a in range(0, n, chunk_frames):
        b = min(n, a + chunk_frames)
        fr = x[a * hop: b * hop].reshape(b - a, hop).astype(np.float64)
        out[a:b] = 10 * np.log10(np.mean(fr ** 2, axis=1) + 1e-12)
    return out


def _speech_mask(db: np.ndarray) -> np.ndarray:
    """Energy speech activity per 10 ms frame (the same rule as the features)."""
    from core.speech.features import voice_activity

    return voice_activity(db, np.zeros(len(db)))


def _cut_point(db: np.ndarray, lo: int, hi: int) -> int:
    """The quietest 200 ms between frames lo and hi (its middle frame)."""
    seg = db[lo:hi]
    if len(seg) < 25:
        return hi
    sm = np.convolve(seg, np.ones(20) / 20, mode="same")
    return lo + int(np.argmin(sm[10:-10])) + 10


def _decode_window(d, pcm: bytes, words: list[str], min_end: int | None,
                   max_skip: int = 0) -> tuple[int, list, list] | None:
    """One forced decoding of a window, or None when no path is found.

    Returns (index of the first word used, word segments with scores, the
    phone alignment tree). ``min_end`` None: every word must be used; else
    the sequence may stop after any word from index ``min_end`` on.
    ``max_skip`` > 0 lets the sequence start at any of the first words
    (resynchronising after a stretch that could not be aligned).
    """
    try:
        if min_end is None and max_skip == 0:
            d.set_align_text(" ".join(words))
        else:
            # A chain of the words with extra word arcs into the final state
            # (stop early) and out of the start state (start late). They are
            # word arcs, not empty ones: the phone alignment that follows
            # cannot align an empty segment. Probabilities leaving a state
            # are normalised, so small side probabilities cost the same
            # wherever the sequence starts or stops, while equal ones would
            # make every further word cost a factor of two.
            final = len(words)
            trans = [(i, i + 1, 1.0, w) for i, w in enumerate(words)]
            if min_end is not None:
                trans += [(i, final, SIDE_PROB, w) for i, w in enumerate(words[:-1]) if i + 1 >= min_end]
            trans += [(0, i + 1, SIDE_PROB, w) for i, w in enumerate(words[1:max_skip + 1], start=1)]
            if min_end is not None:
                trans += [(0, final, SIDE_PROB * SIDE_PROB, w) for i, w in
                          enumerate(words[1:max_skip + 1], start=1) if i + 1 >= min_end]
            d.add_fsg("window", d.create_fsg("window", 0, final, trans))
            d.activate_search("window")
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return None
        segs = [(s.word, s.start_frame, s.end_frame, _score(s.ascore)) for s in d.seg()]
        first = _first_index(words, [_base_word(w) for w in hyp.hypstr.split()], max_skip)
        d.set_alignment()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        al = d.get_alignment()
        if al is None:
            return None
        tree = [(w.name, w.start, w.duration, [(p.name, p.start, p.duration) for p in w]) for w in al]
        return first, segs, tree
    except RuntimeError:
        return None


def _first_index(words: list[str], hyp: list[str], max_skip: int) -> int:
    """Where in ``words`` the recognised (contiguous) sequence starts."""
    for j in range(max_skip + 1):
        if words[j:j + len(hyp)] == hyp:
            return j
    return 0


def _free_scores(pcm: bytes, n: int) -> np.ndarray:
    """Per-frame score of a free phone-loop decoding (the best any words could do)."""
    d = DECODERS.free()
    out = np.zeros(n)
    try:
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        for s in d.seg() or []:
            a, b = s.start_frame, min(s.end_frame, n - 1)
            if b >= a:
                out[a:b + 1] = _score(s.ascore) / (b - a + 1)
    except RuntimeError:
        pass
    return out


def _helper_wanted(seconds: float) -> bool:
    """Free decoding in a helper process: on 2+ cores with one to spare.

    Not when SYNCHRORAMA_THREADS=1 asks for one thread, nor when the last
    minute's load average leaves less than half a core idle: on a saturated
    machine the helper only adds its start-up (measured on the 60-s
    narration at load 7 on 2 cores: 11.4 s with it, 8.6 s without, though
    this process's own CPU time halved, 6.2 -> 3.3 s).
    """
    import os

    if seconds < 2.0 or os.environ.get("SYNCHRORAMA_THREADS", "").strip() == "1":
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):   # Windows has no load average
        load = 0.0
    return cores >= 2 and load < cores - 0.5


class _FreeHelper:
    """A helper process that decodes windows with the free phone loop (issue 19).

    pocketsphinx holds Python's global interpreter lock for a whole
    decoding, so a thread cannot run the free decoding beside the forced
    one; a process can, and a window's alignment then takes about the
    longer of the two instead of their sum. The helper is this interpreter
    run on ``_free_helper_main`` (not multiprocessing, which would re-run an
    unguarded main script); it has its own free decoder configured as
    ``_Decoders.free`` and gets the same windows in the same order, so its
    scores are the ones a new process computes (tests/speech/test_align_helper.py;
    a pocketsphinx decoder carries a little state from one utterance to the
    next, so a long-lived process that aligned before scored slightly
    differently, and with a fresh helper per alignment no longer does).
    Jobs and answers are pickles over
    its stdin and stdout. If it cannot be started or fails, the scores are
    computed here, as before; a frozen bundle always computes them here.
    """

    def __init__(self, proc) -> None:
        self._proc = proc

    @classmethod
    def start(cls) -> "_FreeHelper | None":
        import os
        import subprocess
        import sys

        if getattr(sys, "frozen", False):
            return None
        env = dict(os.environ)
        # the helper imports this module from wherever this process found it
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        try:
            proc = subprocess.Popen([sys.executable, "-c", "from core.speech.align import _free_helper_main; "
                                     "_free_helper_main()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, env=env)
        except OSError:
            return None
        return cls(proc)

    def send(self, pcm: bytes, n: int) -> bool:
        import pickle

        try:
            pickle.dump((pcm, n), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def recv(self) -> np.ndarray | None:
        import pickle

        try:
            kind, value = pickle.load(self._proc.stdout)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            return None
        return value if kind == "ok" and isinstance(value, np.ndarray) else None

    def close(self) -> None:
        import subprocess

        for f in (self._proc.stdin, self._proc.stdout):
            try:
                f.close()        # end of input: the helper returns
            except OSError:
                pass
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)


def _free_helper_main() -> None:
    """The helper's loop: pickled (pcm, n) in, ("ok", scores) out, until its input ends."""
    import pickle
    import sys

    rd, wr = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr      # nothing else may write into the answer pipe
    while True:
        try:
            job = pickle.load(rd)
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            answer = ("ok", _free_scores(*job))
        except Exception as exc:   # answered, so the caller computes this window itself
            answer = ("error", repr(exc))
        try:
            pickle.dump(answer, wr, protocol=pickle.HIGHEST_PROTOCOL)
            wr.flush()
        except OSError:
            return


class _FreeScores:
    """The free phone loop's per-frame scores of one window, from the helper or computed here."""

    def __init__(self, pcm: bytes, n: int, helper: _FreeHelper | None) -> None:
        self._pcm, self._n = pcm, n
        self._helper = helper if helper is not None and helper.send(pcm, n) else None
        self._scores: np.ndarray | None = None

    def get(self) -> np.ndarray:
        if self._scores is None:
            if self._helper is not None:
                self._scores = self._helper.recv()
                self._helper = None
            if self._scores is None:
                self._scores = _free_scores(self._pcm, self._n)
        return self._scores


def _base_word(name: str) -> str:
    return re.sub(r"\(\d+\)$", "", name)


def align_words(samples: np.ndarray, sr: int, words: list[str], *,
                written: dict[str, str] | None = None, hints: list[float] | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None,
                stage: str = "alignment") -> AlignResult:
    """Word and phone timings of ``words`` (decoder tokens) in the audio.

    ``hints``: optional approximate start time per word (from speech-to-text)
    used to size the windows; without them the speaking rate decides.
    """
    res = AlignResult()
    if not words:
        return res
    with DECODERS.lock:
        res.new_words = DECODERS.ensure_words(words, written)
        return _align_locked(samples, sr, words, hints, progress, cancel, stage, res)


def _align_locked(samples, sr, words, hints, progress, cancel, stage, res: AlignResult) -> AlignResult:
    helper = _FreeHelper.start() if _helper_wanted(len(samples) / sr) else None
    try:
        return _align_windows(samples, sr, words, hints, progress, cancel, stage, res, helper)
    finally:
        if helper is not None:
            helper.close()


def _align_windows(samples, sr, words, hints, progress, cancel, stage, res: AlignResult,
                   helper: "_FreeHelper | None") -> AlignResult:
    hop = int(sr * FRAME_S)
    n_frames = len(samples) // hop
    db = _frame_db(samples, sr)
    speech = _speech_mask(db)
    window = int(WINDOW_S / FRAME_S)
    margin = int(COMMIT_MARGIN_S / FRAME_S)
    pos_f, pos_w = 0, 0
    gap_sum, gap_frames = 0.0, 0
    in_word = np.zeros(n_frames, bool)
    shrink = 1.0   # a window that finds no path is retried shorter
    skip = 0       # after a stretch that could not be aligned: how far the next may start late
    while pos_w < len(words) and pos_f < n_frames:
        if cancel is not None:
            cancel.check()
        progress(stage, pos_f, n_frames)
        span = int(window * shrink)
        to_end = n_frames - pos_f <= span + int(MIN_LAST_S / FRAME_S) and shrink == 1.0
        if to_end:
            end_f, todo, min_end = n_frames, words[pos_w:], None
        else:
            end_f = _cut_point(db, pos_f + span - span // 4, min(n_frames, pos_f + span))
            k = _expected_words(words, pos_w, pos_f, end_f, speech, hints)
            todo = words[pos_w: pos_w + int(k * 1.5) + 12 + skip]
            min_end = max(1, min(len(todo), int(k * MIN_END_SHARE * shrink)))
        pcm = _pcm(samples[pos_f * hop: end_f * hop])
        # the free phone loop decodes in the helper process while the forced decoding runs here
        free = _FreeScores(pcm, end_f - pos_f, helper)
        out = _decode_retrying(pcm, todo, min_end, free, skip)
        if out is None and to_end:
            # the tail does not take every remaining word: align what it can;
            # what is left is spread over the speech after it
            out = _decode_retrying(pcm, todo, 1, free, skip)
        free = free.get()   # always collected, so the helper's answers stay in step
        if out is None:
            res.failed_windows += 1
            if shrink > 0.2 and end_f < n_frames:
                shrink /= 2
                continue
            # Give this stretch up: spread fewer words than it probably holds
            # over its speech; the next window may then start late (skip) to
            # find where the speech really is in the word sequence.
            k = _expected_words(words, pos_w, pos_f, end_f, speech, hints)
            n_take = len(todo) if end_f >= n_frames else max(1, min(len(todo), k // 2))
            _spread(res, todo[:n_take], pos_f, end_f, speech)
            in_word[pos_f:end_f] |= speech[pos_f:end_f]
            pos_w += n_take
            pos_f = end_f
            shrink, skip = 1.0, k + 10
            continue
        shrink = 1.0
        first, segs, tree = out
        if first:  # words the window skipped at its start: squeezed in before the first one
            t0 = next((st for name, st, _, _ in tree if _base_word(name) not in SILENCE_WORDS), 0)
            _spread(res, todo[:first], pos_f, pos_f + max(t0, 1), np.ones(n_frames, bool))
            pos_w += first
        skip = 0
        commit_until = n_frames if end_f >= n_frames else end_f - margin
        kept = 0
        for name, start, dur, phones in tree:
            base = _base_word(name)
            if base in SILENCE_WORDS:
                continue
            if pos_f + start + dur > commit_until and kept > 0:
                break
            a, b = pos_f + start, pos_f + start + dur
            res.words.append(Word(text=base, start=round(a * FRAME_S, 3), end=round(b * FRAME_S, 3)))
            wi = len(res.words) - 1
            for pname, pstart, pdur in phones:
                res.phones.append(Phone(label=pname, start=round((pos_f + pstart) * FRAME_S, 3),
                                        end=round((pos_f + pstart + pdur) * FRAME_S, 3), word=wi))
            in_word[a:b] = True
            kept += 1
        for name, s0, s1, sc in segs:
            if _base_word(name) in SILENCE_WORDS or s1 < s0 or pos_f + s1 > commit_until:
                continue
            gap_sum += sc - free[s0:s1 + 1].sum()
            gap_frames += s1 - s0 + 1
        pos_w += kept
        if end_f >= n_frames:
            if pos_w < len(words):
                # words left over after the audio ended: spread over any speech left
                tail = int(round(res.words[-1].end / FRAME_S)) if res.words else pos_f
                _spread(res, words[pos_w:], tail, n_frames, speech)
                res.failed_windows += 1
            break
        pos_f = int(round(res.words[-1].end / FRAME_S)) if kept else end_f
    progress(stage, n_frames, n_frames)
    res.words.sort(key=lambda w: w.start)
    _fill_silences(res)
    res.gap = gap_sum / gap_frames if gap_frames else GAP_BAD
    sp = speech.sum()
    res.coverage = float((speech & in_word).sum() / sp) if sp else 1.0
    return res


def _window_gap(segs, free) -> float:
    """Mean forced-minus-free score per word frame of one decoded window."""
    if isinstance(free, _FreeScores):
        free = free.get()
    tot, n = 0.0, 0
    for name, s0, s1, sc in segs:
        if _base_word(name) in SILENCE_WORDS or s1 < s0:
            continue
        tot += sc - free[s0:s1 + 1].sum()
        n += s1 - s0 + 1
    return tot / n if n else GAP_BAD


def _decode_retrying(pcm: bytes, words: list[str], min_end: int | None, free,
                     max_skip: int = 0):
    """Decode with wider and wider beams until a plausible path is found.

    A narrow beam can prune the true path; with a flexible end the search
    then still "succeeds" with words stretched over the wrong audio, which
    the free phone loop exposes (a gap far below a matching script's).
    The best attempt is returned, or None when no beam gives a plausible one.
    """
    best, best_gap = None, -np.inf
    for beam in BEAMS:
        out = _decode_window(DECODERS.forced(beam), pcm, words, min_end, max_skip)
        if out is None:
            continue
        gap = _window_gap(out[1], free)
        if gap > best_gap:
            best, best_gap = out, gap
        if gap > WINDOW_RETRY_GAP:
            break
    if best is not None and best_gap < GAP_BAD:
        return None
    return best


def _expected_words(words, pos_w, pos_f, end_f, speech, hints) -> int:
    remaining = len(words) - pos_w
    if hints is not None:
        t_end = end_f * FRAME_S
        return max(1, sum(1 for h in hints[pos_w:] if h < t_end))
    here = speech[pos_f:end_f].sum()
    total = speech[pos_f:].sum()
    return max(1, int(round(remaining * here / total))) if total else remaining


def _spread(res: AlignResult, words: list[str], a: int, b: int, speech: np.ndarray) -> None:
    """Fallback timings: words spread evenly over the speech frames of [a, b)."""
    idx = np.flatnonzero(speech[a:b]) + a
    if len(idx) == 0:
        idx = np.arange(a, b)
    if len(idx) == 0:
        return
    bounds = np.linspace(0, len(idx), len(words) + 1).astype(int)
    for k, w in enumerate(words):
        lo, hi = idx[min(bounds[k], len(idx) - 1)], idx[max(bounds[k + 1] - 1, bounds[k])]
        res.words.append(Word(text=w, start=round(lo * FRAME_S, 3), end=round((hi + 1) * FRAME_S, 3)))
        ph = DECODERS.phones_of(w) or ["AH"]
        edges = np.linspace(lo, hi + 1, len(ph) + 1)
        for j, p in enumerate(ph):
            res.phones.append(Phone(label=p, start=round(edges[j] * FRAME_S, 3),
                                    end=round(edges[j + 1] * FRAME_S, 3), word=len(res.words) - 1))


def _fill_silences(res: AlignResult) -> None:
    """Phones sorted by time with explicit SIL between words."""
    res.phones.sort(key=lambda p: p.start)
    out: list[Phone] = []
    t = 0.0
    for p in res.phones:
        if p.label == "SIL":
            continue
        if p.start > t + 1e-6:
            out.append(Phone("SIL", round(t, 3), p.start, -1))
        out.append(p)
        t = max(t, p.end)
    res.phones = out

