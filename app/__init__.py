"""SynchroRaMa Studio: the PySide6 desktop app (GUI only; all work is done by core)."""
