"""How many masks the tagger is asked about: the `sampling` part of a request (openapi.yaml: Sampling).

Adaptive (the service's default) asks in rounds until every explained tag's claim about its top
`top_k` components reaches `confidence`, never before `min_samples`, at most `max_samples`.
Fixed asks exactly `samples` masks, as audioLIME does. `confidence`, `top_k` and `tolerance`
also say which claim a fixed run reports.

    Sampling(confidence=0.99, top_k=2)        adaptive, sure of the top 2 at 99 %
    Sampling(claim="tolerant")                sure that no component left out is above a claimed
                                              one by more than the tolerance (cheaper at a close border)
    Sampling(estimator="plain")               LIME's own fit (an adaptive run's default is "adjusted":
                                              the same weights from far fewer masks, regression-adjusted)
    sampling_request(fixed=256)               (256, {"strategy": "fixed"})
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping, Union

from audiolime_client.errors import UsageError

STRATEGIES = ("adaptive", "fixed")
DESIGNS = ("independent", "paired")
CLAIMS = ("strict", "tolerant")
ESTIMATORS = ("plain", "adjusted")
ADAPTIVE_ONLY = ("min_samples", "max_samples", "round_size")  # meaningless when the count is fixed


@dataclass(frozen=True)
class Sampling:
    """The API's sampling settings; None leaves the service's default (shown in its comment)."""
    strategy: str | None = None  # adaptive | fixed
    confidence: float | None = None  # 0.95: of every explained tag's claim
    top_k: int | None = None  # 3: the components the claim is about (not the tags to explain)
    tolerance: float | None = None  # 0.1: weights within this fraction of the largest are a tie
    min_samples: int | None = None  # 128
    max_samples: int | None = None  # the request's `samples`, else 2048
    round_size: int | None = None  # 64
    design: str | None = None  # independent | paired (paired when adaptive)
    claim: str | None = None  # strict | tolerant (strict): what a tag's claim about its top components says
    estimator: str | None = None  # plain | adjusted (adjusted when adaptive): how the weights are estimated

    def __post_init__(self) -> None:
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("design", self.design, DESIGNS)
        _check_choice("claim", self.claim, CLAIMS)
        _check_choice("estimator", self.estimator, ESTIMATORS)
        for name in ("confidence", "tolerance"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not 0 <= value <= 1):
                raise UsageError(f"sampling {name} is a fraction from 0 to 1, got {value!r}")
        for name in ("top_k", *ADAPTIVE_ONLY):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UsageError(f"sampling {name} must be a positive integer, got {value!r}")

    @classmethod
    def of(cls, value: "SamplingLike") -> "Sampling":
        """From settings, a dict with the API's field names, or None (every default)."""
        if value is None:
            return cls()
        if isinstance(value, Sampling):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise UsageError(f"unknown sampling settings: {sorted(unknown)}")
            return cls(**value)
        raise TypeError(f"sampling must be Sampling or a dict, not {type(value).__name__}")

    def merged(self, **given: Any) -> "Sampling":
        """These settings with the `given` ones (None: not given) added; one given twice, differently, is
        an error."""
        chosen = {name: value for name, value in given.items() if value is not None}
        for name, value in chosen.items():
            if getattr(self, name) is not None and getattr(self, name) != value:
                raise UsageError(f"sampling {name} given twice: {getattr(self, name)!r} and {value!r}")
        return replace(self, **chosen)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


SamplingLike = Union[Sampling, Mapping[str, Any], None]


def sampling_request(samples: int | None = None, sampling: SamplingLike = None,
                     fixed: int | None = None) -> tuple[int | None, dict | None]:
    """The request's `samples` and `sampling` parts, checked before anything is sent.

    `fixed=N` is strategy fixed with N samples. `samples` alone is fixed as well (the API's rule
    since before adaptive sampling); with strategy adaptive it is the cap. Settings only an
    adaptive run uses (min_samples, max_samples, round_size) refuse a fixed run."""
    settings = Sampling.of(sampling)
    if fixed is not None:
        if samples is not None:
            raise UsageError("give fixed=N or samples=N, not both: fixed is the sample count")
        if settings.strategy not in (None, "fixed"):
            raise UsageError(f"fixed=N is a fixed run; the sampling strategy says {settings.strategy!r}")
        settings, samples = replace(settings, strategy="fixed"), fixed
    if settings.strategy == "fixed" or (settings.strategy is None and samples is not None):
        adaptive_only = [name for name in ADAPTIVE_ONLY if getattr(settings, name) is not None]
        if adaptive_only:
            why = "" if settings.strategy else " (samples without a strategy is a fixed run)"
            raise UsageError(f"{adaptive_only[0]} is for adaptive runs; a fixed run asks exactly `samples` masks{why}")
    return samples, settings.to_json() or None


def _check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise UsageError(f"sampling {name} must be one of {', '.join(allowed)}; got {value!r}")
