"""The ``synchrorama`` console script, also run as ``python -m core.cli``.

The subcommands, their parser and the exit codes are in ``core.commands``;
this module stays the entry point that pyproject.toml, the frozen bundle's
launcher and the multi-GPU launchers (``torchrun -m core.cli train ...``) name.
"""

from __future__ import annotations

import sys

from core.commands import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
