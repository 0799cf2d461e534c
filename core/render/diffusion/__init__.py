"""The diffusion renderer: a latent UNet conditioned on the reference face,
the mesh renderer's motion frame, the previous frame, audio, emotion and
scene text, trained by the user on their own footage (no weights ship).

Nothing here imports torch at package import time, so the mesh path never
pays for it; see docs/diffusion.md.
"""
