"""SynchroRaMa core library: analysis, motion, rendering and export.

Pure Python; nothing under ``core`` may import Qt (enforced by a test).
Heavy dependencies (torch, transformers, diffusers, mediapipe) are imported
lazily inside the functions that need them so the CLI starts fast.
"""

__version__ = "0.1.0"

import os as _os

# mediapipe / TFLite print C++ log noise on stderr at every start.
_os.environ.setdefault("GLOG_minloglevel", "2")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Nothing may reach a model hub at run time: every model ships offline.
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
