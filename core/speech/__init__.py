"""Speech analysis: acoustic features, voice activity, alignment, visemes."""
