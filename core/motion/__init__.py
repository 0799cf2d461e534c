"""Audio-to-motion (A2M): speech, emotion and scene cues -> MotionTrack."""
