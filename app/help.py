"""Help: getting started, the keyboard and mouse shortcuts, and About (version and licences).

The shortcut list is read from the window's own actions, so it cannot drift
from what the keys do; the mouse gestures of the timeline and the curve
editor are listed beside it. About names the parts whose licence limits what
a creator may do with the videos: the speech-emotion and acoustic-mouth
weights (non-commercial), the NRC Emotion Lexicon (commercial use needs a
licence from the NRC) and the MEAD-derived expression maps (research use).
"""

from __future__ import annotations

import html
import platform

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

GETTING_STARTED = """
<h3>Getting started</h3>
<ol>
<li><b>Portrait and narration.</b> File &gt; New from sample, or drop a photo and a recording (WAV, MP3, M4A,
FLAC, OGG or a video) on the window. The Media panel can also record from a microphone.</li>
<li><b>Script (optional).</b> Type or paste what is said and press <i>Apply script</i>: the lips follow the
words more exactly and the words add to the emotion. Without one, the words are recognised from the audio
and shown in the box to correct.</li>
<li><b>Watch.</b> Space plays; the preview follows every edit without analysing again.</li>
<li><b>Shape the performance.</b> The <i>Motion &amp; emotion</i> tab sets the whole clip (expressiveness,
emotion, head motion, blinks). The curve editor keys emotion over time (double-click adds a key). In the
timeline, drag word edges to retime them, double-click a word to retype it, and right-click the
<i>mouth</i> lane to swap a mouth shape, change its strength or silence it.</li>
<li><b>Scenes.</b> Describe what happens ("0-3 s: smiles and nods") in the Scenes tab, or let
<i>Suggest all</i> write lines for you.</li>
<li><b>Export.</b> File &gt; Export video (Ctrl+E) renders an MP4 beside the project (or in your Videos folder
for a project not saved yet); Open and Show in folder appear when it is done.</li>
</ol>
<p>Save the project (Ctrl+S) to keep your edits; the analysis is cached, so reopening is quick.</p>
"""

MOUSE = (
    ("Timeline: click or drag in the ruler or waveform", "move the playhead (scrub)"),
    ("Timeline: drag a word, mouth-key or scene edge", "retime it (a word's phones follow)"),
    ("Timeline: double-click a word", "retype it (Enter applies, Esc leaves it)"),
    ("Timeline: right-click the mouth lane", "shape, strength, silence, back to automatic"),
    ("Timeline: Delete on a selected mouth key", "back to the automatic mouth"),
    ("Timeline: Ctrl+wheel / wheel", "zoom / scroll"),
    ("Curves: double-click", "add a key"),
    ("Curves: drag, Shift-click, drag on empty space", "move keys, add to the selection, box-select"),
    ("Curves: Del, Ctrl+C, Ctrl+V", "delete, copy, paste at the playhead"),
)

# what limits the use of the videos: shown in About, where creators look
USE_LIMITS = (
    ("Speech-emotion weights (core/emotion/weights)", "non-commercial use only",
     "trained on RAVDESS and TESS (CC BY-NC-SA 4.0 / CC BY-NC-ND 4.0); retrain on your own recordings "
     "(synchrorama train-ser) to sell videos"),
    ("Acoustic mouth weights (core/motion/weights)", "non-commercial use only",
     "trained on RAVDESS, TESS and eSpeak NG speech; retrain (synchrorama train-mouth) for commercial use"),
    ("NRC Emotion Lexicon (text emotion, via nrclex)", "free for research; commercial use needs a licence "
     "from the National Research Council Canada", "obtain that licence, or turn the text source off"),
    ("Expression shapes and skin maps (derived from MEAD)", "research use",
     "rebuild them from footage you hold the rights to for commercial use"),
)


def version() -> str:
    try:
        from importlib.metadata import version as v

        return v("synchrorama-studio")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "unknown (not installed as a package)"


def shortcuts_html(window) -> str:
    rows = []
    for a in window.actions():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts() if not k.isEmpty()]
        if keys and a.text():
            rows.append((a.text().replace("&", ""), ", ".join(keys)))
    rows.sort(key=lambda r: r[0].lower())
    keys = "".join(f"<tr><td>{html.escape(t)}</td><td><b>{html.escape(k)}</b></td></tr>" for t, k in rows)
    mouse = "".join(f"<tr><td>{html.escape(g)}</td><td>{html.escape(w)}</td></tr>" for g, w in MOUSE)
    return (f"<h3>Keyboard</h3><table cellspacing=4>{keys}</table>"
            f"<h3>Mouse</h3><table cellspacing=4>{mouse}</table>")


def about_html() -> str:
    from PySide6 import __version__ as pyside

    from core.models import bundled_models

    limits = "".join(f"<tr><td>{html.escape(a)}</td><td><b>{html.escape(b)}</b></td><td>{html.escape(c)}</td></tr>"
                     for a, b, c in USE_LIMITS)
    models = "".join(f"<tr><td>{html.escape(m.name)}</td><td>{html.escape(m.licence)}</td></tr>"
                     for m in bundled_models())
    return (f"<h2>SynchroRaMa Studio {html.escape(version())}</h2>"
            "<p>A portrait and a narration become an expressive talking-face video, offline.</p>"
            f"<p>Python {platform.python_version()}, PySide6 {pyside}. The code is Apache-2.0.</p>"
            "<h3>Before you sell a video</h3>"
            "<p>Some parts that shape the face were made from data whose licence allows "
            "<b>non-commercial or research use only</b>:</p>"
            f"<table cellspacing=4>{limits}</table>"
            "<h3>Models and their licences</h3>"
            f"<table cellspacing=4>{models}</table>"
            "<p>The full list is in docs/licences.md; Tools &gt; Models shows where each model is.</p>")


class HelpDialog(QDialog):
    """A read-only page (opened without blocking)."""

    def __init__(self, title: str, body: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName(f"help:{title}")
        self.resize(640, 520)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def plain(self) -> str:
        return self.text.toPlainText()
