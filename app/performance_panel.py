"""Motion & emotion: the performance settings of the whole clip (a tab beside Scenes and Export).

Every control is a project field that the CLI sets too, so the preview, the
export and ``synchrorama render --project`` all follow it:

| control        | project field           | CLI                       |
|----------------|-------------------------|---------------------------|
| Expressiveness | motion.expressiveness   | (project only)            |
| Emotion        | emotion.mode            | ``--emotion``             |
| Strength       | emotion.strength        | ``--emotion-strength``    |
| Head motion    | motion.head_motion      | ``--head-motion``         |
| Blink rate     | motion.blink_rate       | ``--blink-rate``          |
| Motion seed    | seed                    | ``--seed``                |

Expressiveness is one knob over the others: it multiplies the emotion
strength and the head-motion amount (core.project.user_emotion and
effective_head_motion), so 0 is a calm, still face that still speaks and 2
is twice as animated. Each edit is one undo step (spin-box steps merge) and
only rebuilds the motion on a worker (no re-analysis).
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from core.emotion.control import MAX_STRENGTH
from core.motion.a2m import BLINK_RATE_RANGE, HEAD_MOTION_RANGE
from core.project import MAX_EXPRESSIVENESS
from core.tracks import EMOTIONS

SEED_MAX = 2**31 - 1     # QSpinBox holds a C int; numpy seeds must be >= 0
# project fields this panel shows: an undo/redo of any of them refreshes the widgets
PROJECT_KEYS = ("head_motion", "blink_rate", "seed", "emotion", "emotion_strength", "expressiveness")


class PerformancePanel(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.expressiveness = QDoubleSpinBox()
        self.expressiveness.setRange(0.0, MAX_EXPRESSIVENESS)
        self.expressiveness.setSingleStep(0.1)
        self.expressiveness.setDecimals(2)
        self.expressiveness.setToolTip("One knob for the whole performance: multiplies the emotion strength and "
                                       "the head motion. 0 = calm and still (the lips still speak), 1 = as set "
                                       "below, 2 = twice as animated")
        self.emotion = QComboBox()
        self.emotion.addItem("auto (from the voice and words)", "auto")
        for name in EMOTIONS:
            self.emotion.addItem(name, name)
        self.emotion.setToolTip("Auto follows the analysis; a class forces that emotion for the whole clip "
                                "(curve keys still apply on top)")
        self.emotion.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.emotion.setMinimumContentsLength(10)
        self.emotion_strength = QDoubleSpinBox()
        self.emotion_strength.setRange(0.0, MAX_STRENGTH)
        self.emotion_strength.setSingleStep(0.1)
        self.emotion_strength.setDecimals(2)
        self.emotion_strength.setToolTip("How strongly the emotion shows: 0 = neutral face, 1 = as analysed, "
                                         "up to 3 = exaggerated")
        self.head_motion = QDoubleSpinBox()
        self.head_motion.setRange(*HEAD_MOTION_RANGE)
        self.head_motion.setSingleStep(0.1)
        self.head_motion.setDecimals(2)
        self.head_motion.setToolTip("Head motion from the voice: 0 = still, 1 = natural (a real speaker's "
                                    "spread), 2 = lively")
        self.blink_rate = QDoubleSpinBox()
        self.blink_rate.setRange(*BLINK_RATE_RANGE)
        self.blink_rate.setSingleStep(1.0)
        self.blink_rate.setDecimals(1)
        self.blink_rate.setSuffix(" / min")
        self.blink_rate.setToolTip("Blinks per minute (real speakers blink 10-25; 0 = never)")
        self.seed = QSpinBox()
        self.seed.setRange(0, SEED_MAX)
        self.seed.setToolTip("Another number gives other head moves and blink times for the same voice "
                             "(the same number always gives the same motion)")
        self.effective = QLabel("")
        self.effective.setObjectName("effectiveNote")
        self.effective.setWordWrap(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Expressiveness", self.expressiveness)
        form.addRow(self.effective)
        form.addRow(QLabel("<b>Emotion</b>"))
        form.addRow("Emotion", self.emotion)
        form.addRow("Strength", self.emotion_strength)
        form.addRow(QLabel("<b>Motion</b>"))
        form.addRow("Head motion", self.head_motion)
        form.addRow("Blink rate", self.blink_rate)
        form.addRow("Motion seed", self.seed)
        note = QLabel("These settings change the preview and every export; the curve editor shapes the "
                      "emotion over time on top of them.")
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addStretch(1)

        self.expressiveness.valueChanged.connect(
            lambda v: self.session.edit("expressiveness", float(v), "Expressiveness", merge=1006))
        self.head_motion.valueChanged.connect(
            lambda v: self.session.edit("head_motion", float(v), "Head motion", merge=1002))
        self.blink_rate.valueChanged.connect(
            lambda v: self.session.edit("blink_rate", float(v), "Blink rate", merge=1003))
        self.seed.valueChanged.connect(lambda v: self.session.edit("seed", int(v), "Motion seed", merge=1004))
        self.emotion_strength.valueChanged.connect(
            lambda v: self.session.edit("emotion_strength", float(v), "Emotion strength", merge=1005))
        self.emotion.currentIndexChanged.connect(
            lambda _i: self.session.edit("emotion", self.emotion.currentData(), "Forced emotion"))
        session.changed.connect(lambda k: self.sync() if k in PROJECT_KEYS else None)
        session.project_loaded.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        p = self.session.project
        widgets = (self.expressiveness, self.head_motion, self.blink_rate, self.seed, self.emotion,
                   self.emotion_strength)
        for w in widgets:
            w.blockSignals(True)
        self.expressiveness.setValue(p.expressiveness)
        self.head_motion.setValue(p.head_motion)
        self.blink_rate.setValue(p.blink_rate)
        self.seed.setValue(min(max(int(p.seed), 0), SEED_MAX))
        self.emotion.setCurrentIndex(max(0, self.emotion.findData(p.emotion)))
        self.emotion_strength.setValue(p.emotion_strength)
        for w in widgets:
            w.blockSignals(False)
        self._effective()

    def _effective(self) -> None:
        """What the knob makes of the settings below it (it multiplies them)."""
        from core.project import effective_head_motion

        p = self.session.project
        if p.expressiveness == 1.0:
            self.effective.setText("1 = the emotion strength and head motion below, as set.")
        else:
            self.effective.setText(f"Emotion shows at {min(p.emotion_strength * p.expressiveness, MAX_STRENGTH):.2f}, "
                                   f"head motion at {effective_head_motion(p):.2f}.")
