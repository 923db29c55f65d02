"""Masks → audio: a batch of masks times the component matrix, segment by segment."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .components import Factorization
from .errors import InvalidOptionError


class Mixer:
    """Mixes masks over one factorization, at the factorization's rate and layout."""

    def __init__(self, factorization: Factorization):
        self.factorization = factorization
        # Flattened per-segment blocks make each segment one matrix product.
        self._flat_blocks = [
            (block.start, block.stop, factorization.columns(block.segment),
             block.audio.reshape(block.audio.shape[0], -1))
            for block in factorization.blocks
        ]

    @property
    def n_samples(self) -> int:
        return self.factorization.sources.n_samples

    @property
    def channels(self) -> int:
        return self.factorization.sources.channels

    def mix(self, masks: np.ndarray) -> np.ndarray:
        """(B, d') masks → (B, samples, channels) float32 mixes."""
        masks = self._check(masks)
        mixes = np.zeros((masks.shape[0], self.n_samples, self.channels), dtype=np.float32)
        flat = mixes.reshape(masks.shape[0], -1)
        for start, stop, columns, block in self._flat_blocks:
            # Blocks overlap only by their crossfades, so += sums the two fades there.
            flat[:, start * self.channels: stop * self.channels] += masks[:, columns] @ block
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
