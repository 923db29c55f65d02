"""Perturbations: binary masks over components, row 0 all on (the original)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidOptionError
from .sampling import MaskStream, all_masks, exhaustive_fits


@dataclass(frozen=True, eq=False)
class Perturbations:
    unique: np.ndarray  # (U, d') bool, row 0 all on; each mask the tagger must hear once
    counts: np.ndarray  # (U,) how often each unique mask was drawn
    exhaustive: bool

    @property
    def n_samples(self) -> int:
        return int(self.counts.sum())

    @property
    def n_components(self) -> int:
        return self.unique.shape[1]


def perturb(n_components: int, n_samples: int, seed: int | None = 0) -> Perturbations:
    """Draw masks with p(on) = 0.5 from one seeded generator, or all of them when 2^d' fits."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise InvalidOptionError(f"samples must be an integer of at least 2, got {n_samples!r}")
    if n_components < 1:
        raise InvalidOptionError("at least one component is needed")
    if exhaustive_fits(n_components, n_samples):
        rows = all_masks(n_components)
        return Perturbations(rows, np.ones(len(rows), dtype=np.int64), exhaustive=True)
    return _deduplicate(MaskStream(n_components, seed or 0).first(n_samples))


def _deduplicate(masks: np.ndarray) -> Perturbations:
    packed = np.packbits(masks, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    # Keep the order of first appearance, so row 0 (all on) stays row 0.
    order = np.argsort(first)
    return Perturbations(masks[first[order]], counts[order], exhaustive=False)


def mask_key(mask: np.ndarray) -> bytes:
    """A compact, hashable identity of one mask."""
    return np.packbits(np.asarray(mask, dtype=bool)).tobytes() + bytes([len(mask) % 8])
