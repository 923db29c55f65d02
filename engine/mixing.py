"""Masks → audio: a batch of masks times the component matrix, region by region.

The clip is tiled into regions that each depend on few components: the core of
a segment (one component per source) and the crossfade between two segments
(two per source). Each region of a whole batch is then a single small matrix
product written straight into the output, so mixing costs about C multiply-adds
per output sample, not d' = C × τ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .components import Factorization
from .errors import InvalidOptionError


@dataclass(frozen=True, eq=False)
class Region:
    start: int
    stop: int
    columns: np.ndarray  # the components audible here
    audio: np.ndarray  # (len(columns), (stop - start) * channels): their windowed audio, flattened


class Mixer:
    """Mixes masks over one factorization, at the factorization's rate and layout."""

    def __init__(self, factorization: Factorization):
        self.factorization = factorization
        self.regions = _regions(factorization)

    @property
    def n_samples(self) -> int:
        return self.factorization.sources.n_samples

    @property
    def channels(self) -> int:
        return self.factorization.sources.channels

    def mix(self, masks: np.ndarray) -> np.ndarray:
        """(B, d') masks → (B, samples, channels) float32 mixes."""
        masks = self._check(masks)
        mixes = np.empty((masks.shape[0], self.n_samples, self.channels), dtype=np.float32)
        flat = mixes.reshape(masks.shape[0], -1)
        ch = self.channels
        for region in self.regions:
            np.matmul(masks[:, region.columns], region.audio, out=flat[:, region.start * ch: region.stop * ch])
        return mixes

    def batches(self, masks: np.ndarray, batch_size: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Stream mixes batch by batch; only one batch is ever held in memory."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise InvalidOptionError(f"batch size must be a positive integer, got {batch_size!r}")
        for start in range(0, len(masks), batch_size):
            rows = slice(start, min(start + batch_size, len(masks)))
            yield rows, self.mix(masks[rows])

    def _check(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks)
        n = self.factorization.n_components
        if masks.ndim != 2 or masks.shape[1] != n:
            raise InvalidOptionError(f"masks must have shape (batch, {n}), got {masks.shape}")
        return masks.astype(np.float32, copy=False)


def _regions(factorization: Factorization) -> list[Region]:
    """Tile the clip by which blocks (windowed segments) overlap where."""
    blocks = factorization.blocks
    edges = sorted({0, factorization.sources.n_samples} | {b.start for b in blocks} | {b.stop for b in blocks})
    regions = []
    for start, stop in zip(edges, edges[1:]):
        here = [b for b in blocks if b.start <= start and stop <= b.stop]
        columns = np.concatenate([factorization.columns(b.segment) for b in here])
        audio = np.concatenate([b.audio[:, start - b.start: stop - b.start] for b in here])
        regions.append(Region(start, stop, columns, np.ascontiguousarray(audio.reshape(len(columns), -1))))
    return regions
