"""Renderers: one interface, a CPU mesh renderer and a CUDA diffusion renderer."""
