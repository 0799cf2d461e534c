"""Min/max pyramid of a narration so the timeline draws an hour of audio fast.

Level 0 holds the min and max of every BASE samples; each next level halves
the count. Drawing picks the coarsest level that still has at least one
bucket per pixel and reduces it to exactly one (min, max) per pixel, so a
repaint costs O(pixels), whatever the zoom and the audio length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE = 64  # samples per bucket at level 0 (4 ms at 16 kHz)


@dataclass
class WavePyramid:
    sample_rate: int
    n_samples: int
    mins: list[np.ndarray]
    maxs: list[np.ndarray]

    @classmethod
    def build(cls, samples: np.ndarray, sample_rate: int) -> "WavePyramid":
        x = np.asarray(samples, np.float32)
        n = len(x) // BASE * BASE
        if n == 0:
            pad = np.zeros(BASE, np.float32)
            pad[: len(x)] = x
            x, n = pad, BASE
        blocks = x[:n].reshape(-1, BASE)
        mins, maxs = [blocks.min(1)], [blocks.max(1)]
        if len(x) > n:  # the tail that does not fill a bucket
            mins[0] = np.append(mins[0], x[n:].min())
            maxs[0] = np.append(maxs[0], x[n:].max())
        while len(mins[-1]) > 1:
            lo, hi = mins[-1], maxs[-1]
            if len(lo) % 2:
                lo, hi = np.append(lo, lo[-1]), np.append(hi, hi[-1])
            mins.append(np.minimum(lo[0::2], lo[1::2]))
            maxs.append(np.maximum(hi[0::2], hi[1::2]))
        return cls(sample_rate, len(samples), mins, maxs)

    @property
    def duration(self) -> float:
        return self.n_samples / float(self.sample_rate)

    def envelope(self, t0: float, t1: float, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) per pixel column for the time span [t0, t1); zeros outside the audio."""
        width = max(1, int(width))
        lo_out = np.zeros(width, np.float32)
        hi_out = np.zeros(width, np.float32)
        if t1 <= t0:
            return lo_out, hi_out
        spp = (t1 - t0) * self.sample_rate / width  # samples per pixel
        level = int(np.clip(np.floor(np.log2(max(spp / BASE, 1.0))), 0, len(self.mins) - 1))
        bsize = BASE * (1 << level)
        lo, hi = self.mins[level], self.maxs[level]
        edges = (t0 + (t1 - t0) * np.arange(width + 1) / width) * self.sample_rate / bsize
        a = np.floor(edges[:-1]).astype(np.int64)
        b = np.maximum(np.floor(edges[1:]).astype(np.int64), a + 1)
        ok = (a >= 0) & (a < len(lo))
        if not ok.any():
            return lo_out, hi_out
        idx = np.flatnonzero(ok)  # contiguous: columns inside the audio
        starts = a[idx]
        # spans are back to back ([a_j, a_j+1) or one shared bucket), so reduceat
        # up to the next start is exact; only the last span needs its own end
        lo_out[idx] = np.minimum.reduceat(lo, starts)
        hi_out[idx] = np.maximum.reduceat(hi, starts)
        j = idx[-1]
        e = min(int(b[j]), len(lo))
        lo_out[j], hi_out[j] = lo[a[j]:e].min(), hi[a[j]:e].max()
        # a column also overlaps the first bucket of the next one when its edge
        # falls inside a bucket: fold that bucket in so no peak is missed
        last = np.clip(np.ceil(edges[1:]).astype(np.int64) - 1, 0, len(lo) - 1)[idx]
        lo_out[idx] = np.minimum(lo_out[idx], lo[last])
        hi_out[idx] = np.maximum(hi_out[idx], hi[last])
        return lo_out, hi_out
