"""How many masks, and which: the sampling settings, the round schedule and the mask stream.

Masks come from one seeded stream, drawn in fixed blocks, so the k-th mask is the
same whatever the round sizes: a run with the same seed and a higher confidence
target continues the same sequence, and a resumed run asks for the masks it had.
Row 0 is always the original (all on).
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from enum import Enum

import numpy as np

from .errors import InvalidOptionError
from .sequential import Inference

MAX_EXHAUSTIVE_COMPONENTS = 20  # 2^20 masks; beyond that exhaustive never fits a budget
STREAM_BLOCK = 64  # masks drawn from the generator at a time (the stream's unit; not a round)


class Strategy(str, Enum):
    ADAPTIVE = "adaptive"  # rounds until every explained tag's claim reaches the confidence, or the cap
    FIXED = "fixed"  # exactly `samples` masks, as audioLIME does


class Design(str, Enum):
    INDEPENDENT = "independent"  # each mask on its own, p(on) = 0.5 per component (LIME's)
    PAIRED = "paired"  # each mask followed by its complement (antithetic)


class ClaimKind(str, Enum):
    """What a converged claim about a tag's top-k says (stability.py)."""
    STRICT = "strict"  # each claimed component above every other, or proven tied with it within the tolerance
    TOLERANT = "tolerant"  # no component left out is above a claimed one by more than the tolerance


class Estimator(str, Enum):
    """How the weights are estimated from the answered masks (the same weights, LIME's fit with
    unlimited masks, either way)."""
    PLAIN = "plain"  # LIME's kernel-weighted ridge on the masks
    ADJUSTED = "adjusted"  # regression-adjusted: interactions fitted and projected exactly (adjustment.py)


class StopReason(str, Enum):
    CONVERGED = "converged"
    MAX_SAMPLES = "max_samples"
    EXHAUSTIVE = "exhaustive"
    FIXED = "fixed"


def _parse(kind, value, name: str):
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidOptionError(f"unknown {name} {value!r}; use one of {allowed}") from None


@dataclass(frozen=True)
class SamplingSettings:
    strategy: Strategy = Strategy.ADAPTIVE
    confidence: float = 0.95  # of every explained tag's top-k claim
    top_k: int = 3
    tolerance: float = 0.1  # weights within this fraction of the largest are equal (a tie)
    min_samples: int = 128
    max_samples: int | None = None  # None: the request's `samples`, else DEFAULT_MAX_SAMPLES
    round_size: int = 64
    design: Design | None = None  # None: paired for adaptive runs, independent (LIME's) for fixed ones
    inference: Inference = Inference.SEQUENTIAL  # how a claim's confidence is computed (stability.py)
    claim: ClaimKind = ClaimKind.STRICT  # what the claim says
    estimator: Estimator | None = None  # None: adjusted for adaptive runs, plain (LIME's) for fixed ones

    def __post_init__(self):
        object.__setattr__(self, "strategy", _parse(Strategy, self.strategy, "sampling strategy"))
        object.__setattr__(self, "inference", _parse(Inference, self.inference, "sampling inference"))
        object.__setattr__(self, "claim", _parse(ClaimKind, self.claim, "sampling claim"))
        if self.estimator is not None:
            object.__setattr__(self, "estimator", _parse(Estimator, self.estimator, "sampling estimator"))
        if self.design is not None:
            object.__setattr__(self, "design", _parse(Design, self.design, "sampling design"))
        for name in ("top_k", "min_samples", "max_samples", "round_size"):
            value = getattr(self, name)
            if value is None and name == "max_samples":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < (2 if "samples" in name else 1):
                raise InvalidOptionError(f"sampling.{name} must be an integer of at least "
                                         f"{2 if 'samples' in name else 1}, got {value!r}")
        for name, low, high in (("confidence", 0.5, 0.9999), ("tolerance", 0.0, 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InvalidOptionError(f"sampling.{name} must be a number from {low} to {high}, got {value!r}")
        if self.max_samples is not None and self.min_samples > self.max_samples:
            raise InvalidOptionError(f"sampling.min_samples ({self.min_samples}) is over max_samples "
                                     f"({self.max_samples})")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["strategy"] = self.strategy.value
        data["design"] = self.design.value if self.design is not None else None
        data["inference"] = self.inference.value
        data["claim"] = self.claim.value
        data["estimator"] = self.estimator.value if self.estimator is not None else None
        return data

    def resolved(self, samples: int | None, selects_features: bool = False) -> "SamplingSettings":
        """Every choice made: the cap (`samples` when max_samples is absent), the design and the
        estimator (adjusted for adaptive runs, unless the surrogate selects features: the adjusted
        estimate weighs every component)."""
        adaptive = self.strategy is Strategy.ADAPTIVE
        cap = (self.max_samples or samples or DEFAULT_MAX_SAMPLES) if adaptive else (samples or DEFAULT_MAX_SAMPLES)
        design = self.design or (Design.PAIRED if adaptive else Design.INDEPENDENT)
        estimator = self.estimator or (Estimator.ADJUSTED if adaptive and not selects_features else Estimator.PLAIN)
        return replace(self, max_samples=cap, design=design, min_samples=min(self.min_samples, cap),
                       estimator=estimator)


DEFAULT_MAX_SAMPLES = 2048


def schedule(settings: SamplingSettings) -> list[int]:
    """The sample counts after each round of resolved settings: where the sampler may look and stop."""
    if settings.strategy is Strategy.FIXED:
        return [settings.max_samples]
    counts, n = [], settings.min_samples
    while n < settings.max_samples:
        counts.append(n)
        n += settings.round_size
    return counts + [settings.max_samples]


def exhaustive_fits(n_components: int, budget: int) -> bool:
    return n_components <= MAX_EXHAUSTIVE_COMPONENTS and 2 ** n_components <= budget


def all_masks(n_components: int) -> np.ndarray:
    """Every mask once, all on first (LIME's exact answer for its kernel)."""
    return np.array(list(itertools.product((True, False), repeat=n_components)), dtype=bool)


class MaskStream:
    """The run's masks in order: all on, then draws from one generator, block by block."""

    def __init__(self, n_components: int, seed: int, design: Design = Design.INDEPENDENT):
        if n_components < 1:
            raise InvalidOptionError("at least one component is needed")
        self.n_components, self.design = n_components, Design(design)
        self._rng = np.random.default_rng(seed)
        self._drawn = np.ones((1, n_components), dtype=bool)  # row 0: the original

    def first(self, n: int) -> np.ndarray:
        """The first `n` masks of the stream (draws; repeats are possible)."""
        while len(self._drawn) < n:
            self._drawn = np.concatenate([self._drawn, self._block()])
        return self._drawn[:n]

    def clusters(self, n: int) -> np.ndarray:
        """Which draws belong together (a mask and its complement): the units of the variance estimate."""
        if self.design is Design.PAIRED:
            return np.arange(n) // 2
        return np.arange(n)

    def _block(self) -> np.ndarray:
        if self.design is Design.INDEPENDENT:
            return self._rng.integers(0, 2, size=(STREAM_BLOCK, self.n_components), dtype=np.uint8).astype(bool)
        if len(self._drawn) == 1:  # pair the original with its complement, all off
            first = np.zeros((1, self.n_components), dtype=bool)
            return np.concatenate([first, self._pairs(STREAM_BLOCK // 2 - 1)])[:STREAM_BLOCK - 1]
        return self._pairs(STREAM_BLOCK // 2)

    def _pairs(self, n: int) -> np.ndarray:
        masks = self._rng.integers(0, 2, size=(n, self.n_components), dtype=np.uint8).astype(bool)
        return np.stack([masks, ~masks], axis=1).reshape(2 * n, self.n_components)
