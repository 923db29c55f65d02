"""Paying for the looks: an adaptive run may stop at any look of its schedule, so a claim made at
the look where it first reaches the target must be paid for over all of them.

Two ways, chosen by `sampling.inference`:

- `bonferroni` (the conservative bound): a p-value reached at one look is worth L times as much
  over L looks, whatever the looks have in common.
- `sequential` (the default): the looks are not independent. The data of one look are those of the
  previous one plus a round, so a statement's z-statistic moves along the schedule like a Gaussian
  random walk standardised at each look, Z_l = S(n_l) / √n_l. The chance that it crosses a
  threshold c at *some* look is computed once per schedule by simulating that walk (exact in the
  limit of many units, as the sandwich estimate itself is), and a p-value p reached at one look is
  paid as g(p) = P(max_l Z_l ≥ z_{1−p}). For the default schedule (31 looks, 128 to 2048 draws)
  g(p) is about 6–8 p where the claims are decided, instead of 31 p. Where the simulation has too
  few paths to resolve g (tiny p), the bound falls back to min(L·p, g at the smallest p resolved),
  which is still an upper bound because g grows with p.
"""
from __future__ import annotations

from enum import Enum
from functools import lru_cache

import numpy as np
from scipy.stats import norm

PATHS = 100_000  # simulated walks: g is resolved down to about RESOLVED / PATHS
RESOLVED = 400  # crossings needed before a simulated probability is trusted
SEED = 20261205  # the simulation is part of the method: the same schedule always pays the same


class Inference(str, Enum):
    SEQUENTIAL = "sequential"  # joint normal of the statements, looks paid by their crossing chance
    BONFERRONI = "bonferroni"  # union bound over statements, Bonferroni over looks (the older method)


class Looks:
    """How a p-value reached at one look of a schedule is paid for over all of its looks."""

    def __init__(self, draws: tuple[int, ...], inference: Inference = Inference.SEQUENTIAL):
        self.draws, self.inference = tuple(int(n) for n in draws), Inference(inference)
        self._maxima = _maxima(self.draws) if self.inference is Inference.SEQUENTIAL and len(self.draws) > 1 else None

    @classmethod
    def single(cls, inference: Inference = Inference.SEQUENTIAL) -> "Looks":
        return cls((1,), inference)

    @property
    def count(self) -> int:
        return len(self.draws)

    def adjust(self, p: float) -> float:
        """What a p-value reached at one look is worth over the schedule."""
        p = float(min(max(p, 0.0), 1.0))
        if self._maxima is None:
            return min(1.0, self.count * p)
        crossed = _crossing(self._maxima, norm.isf(p)) if p > 0 else 0.0
        resolved = _crossing(self._maxima, self._maxima[-RESOLVED])
        if crossed < resolved:  # too few paths this far out: the bound, not the estimate
            crossed = min(self.count * p, resolved)
        return float(min(1.0, self.count * p, max(p, crossed)))

    def nominal(self, alpha: float) -> float:
        """The largest p-value at one look that is worth at most `alpha` over the schedule."""
        if self._maxima is None:
            return alpha / self.count
        resolved = _crossing(self._maxima, self._maxima[-RESOLVED])
        if alpha < resolved:
            return alpha / self.count
        threshold = float(np.quantile(self._maxima, 1.0 - alpha, method="higher"))
        return float(max(norm.sf(threshold), alpha / self.count))

    def describe(self) -> str:
        if self.count == 1:
            return "one look"
        if self._maxima is None:
            return f"Bonferroni over {self.count} looks"
        return f"the chance of crossing at any of {self.count} looks (a Gaussian walk over the schedule)"


def _crossing(maxima: np.ndarray, threshold: float) -> float:
    return float(len(maxima) - np.searchsorted(maxima, threshold, side="left")) / len(maxima)


@lru_cache(maxsize=32)
def _maxima(draws: tuple[int, ...]) -> np.ndarray:
    """Sorted maxima over the looks of a standardised Gaussian walk observed at `draws`."""
    counts = np.asarray(draws, dtype=np.float64)
    steps = np.diff(np.concatenate([[0.0], counts]))
    rng = np.random.default_rng(SEED)
    walks = np.cumsum(rng.standard_normal((PATHS, len(counts))) * np.sqrt(steps), axis=1)
    return np.sort((walks / np.sqrt(counts)).max(axis=1))
