"""Measuring a talking-face video with models this project did not train.

``evaluate(video, gt=..., portrait=..., expect=...)`` returns an
``EvalResult`` (lip-sync, identity, expression, motion, image figures);
``synchrorama eval`` prints it as a table or JSON. See docs/eval.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.eval.result import EvalResult


def evaluate(video, **kwargs) -> "EvalResult":
    """See core.eval.result.evaluate (imported lazily: it loads the face models)."""
    from core.eval.result import evaluate as _evaluate

    return _evaluate(video, **kwargs)


def __getattr__(name: str):
    if name == "EvalResult":
        from core.eval.result import EvalResult

        return EvalResult
    raise AttributeError(name)
