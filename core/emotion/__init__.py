"""Emotion: text sentiment, SER, prosody, fusion, user curves, emotion -> face."""
